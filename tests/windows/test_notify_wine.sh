#!/usr/bin/env bash
# kotod.exe's notifications and koto.exe under Wine, against a webhook
# receiver on Linux loopback (tests/integration/webhook_receiver.py, the
# Linux tests' own): libcurl (Schannel build, scripts/win-deps-curl.sh) and
# libcrypto's HMAC inside kotod.exe. The channel's secret is a whsec_ file;
# memory_high starts at once (a threshold of 1 % holds on any machine); the
# receiver answers 503 first, so the message comes on the retry, with the
# same id, and every attempt's Standard Webhooks signature verifies. Two
# email channels to the Linux email test's SMTP server: one in the clear,
# one over STARTTLS with Schannel checking the server against ca_file. Then
# POST /api/agent/notify/test and kotod.exe --test-notify; then koto.exe's
# status and events, as text and JSON, and the exit codes scripts rely on.
# Runs inside scripts/win-test.sh (WINEPREFIX, a persistent wineserver).
#   Usage: test_notify_wine.sh KOTOD_EXE KOTO_EXE SOURCE_DIR WEB_DIR
set -uo pipefail
EXE="$1" KOTO="$2" SRC="$(cd "$3" && pwd)" WEB="$(cd "$4" && pwd)"
: "${WINEPREFIX:?run through scripts/win-test.sh (it sets up Wine)}"

DIR="$WINEPREFIX/drive_c/koto-notify" # C:\koto-notify
WIN='C:\koto-notify'
LOG="$DIR/kotod.log"
RLOG="$DIR/receiver.log"
winpath() { local p="${1//\//\\}"; echo "Z:$p"; }
fail() {
  echo "FAIL: $*" >&2
  [ -f "$LOG" ] && tr -d '\r' <"$LOG" | grep -v '^wine: Read access denied' | sed 's/^/  log: /' | tail -40 >&2
  [ -f "$RLOG" ] && sed 's/^/  receiver: /' "$RLOG" | tail -5 >&2
  exit 1
}
ok() { echo "ok: $*"; }

pid="" rpid="" spids=()
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  if [ -n "$rpid" ]; then kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; fi
  for p in "${spids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT
rm -rf "$DIR"
mkdir -p "$DIR"

# ---- the receiver on Linux, and the channel's secret ---------------------------------------
printf 'whsec_%s\n' "$(head -c 24 /dev/urandom | base64)" >"$DIR/webhook.secret"
chmod 600 "$DIR/webhook.secret"
python3 "$SRC/tests/integration/webhook_receiver.py" "$DIR/port" "$RLOG" --fail 1 \
  --secret "$DIR/webhook.secret" &
rpid=$!
for _ in $(seq 100); do [ -s "$DIR/port" ] && break; sleep 0.05; done
[ -s "$DIR/port" ] || fail "the receiver starts"
port="$(cat "$DIR/port")"
# Two SMTP servers (the Linux email test's, Debian's aiosmtpd): one in the
# clear, one that requires STARTTLS with a certificate the channel's
# ca_file trusts, which Schannel checks. Its name is localhost, not
# 127.0.0.1: Debian's libcurl 7.88 matches Schannel's certificate names
# by DNS name only, never by IP address. (Without ca_file, Schannel itself
# would check the certificate against the Windows store, and Wine's accepts
# any: that refusal is verified on Windows only, docs/windows.md.)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/key.pem" -out "$DIR/cert.pem" -days 1 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1 || fail "the test's certificate"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
smtpd() { # NAME ARGS...: sets sport; its log $DIR/NAME.log
  sport="$(free_port)"
  : >"$DIR/$1.log"
  "$py" "$SRC/tests/integration/smtp_receiver.py" "$sport" "$DIR/$1.log" "${@:2}" >"$DIR/$1.out" 2>&1 &
  spids+=($!)
  for _ in $(seq 150); do grep -q ready "$DIR/$1.out" 2>/dev/null && return 0; sleep 0.1; done
  fail "the SMTP server $1 starts: $(cat "$DIR/$1.out")"
}
spids=()
smtpd plain; plain_port=$sport
smtpd tls --tls "$DIR/cert.pem" "$DIR/key.pem"; tls_port=$sport

cat >"$DIR/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 1, clear_margin = 0.5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               disk = { enabled = false }, process_memory = { enabled = false } }
notify = {
  { name = "hook", kind = "webhook", url = "http://127.0.0.1:$port/hook",
    secret_file = [[$WIN\\webhook.secret]], types = { "memory_high" }, backoff_ms = 200 },
  { name = "mail", kind = "email", url = "smtp://127.0.0.1:$plain_port", starttls = false,
    from = "koto@host.example", to = { "ops@example.com" }, types = { "memory_high" } },
  { name = "tls", kind = "email", url = "smtp://localhost:$tls_port", ca_file = [[$WIN\\cert.pem]],
    from = "koto@host.example", to = { "sec@example.com" }, types = { "memory_high" } },
}
LUA
# kotod.exe's arguments: the test's configuration and state. (wine is run
# directly, never through a shell function: a background subshell would
# take the Ctrl-C meant for kotod.exe, and ignore it.)
kargs=(-c "$WIN\\koto.conf.lua" --lua-dir "$(winpath "$SRC/lua")" --web-dir "$(winpath "$WEB")"
       --state-dir "$WIN\\state")
# wait_lines JQ_SLURP_FILTER: until the receiver's log satisfies it (30 s: Wine is slow)
wait_lines() {
  for _ in $(seq 300); do
    jq -e -s "$1" "$RLOG" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

wine "$EXE" "${kargs[@]}" -t </dev/null >"$DIR/t.out" 2>&1 || fail "kotod.exe -t accepts the channel: $(tr -d '\r' <"$DIR/t.out")"
ok "kotod.exe -t accepts the channel"

# ---- an event, signed, delivered on the retry -----------------------------------------------
: >"$LOG"
wine "$EXE" "${kargs[@]}" --foreground --listen 127.0.0.1:0 --interval 200 </dev/null >"$LOG" 2>&1 &
pid=$!
addr=""
for _ in $(seq 300); do
  addr="$(tr -d '\r' <"$LOG" | sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' | head -1)"
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$addr" ] || fail "kotod.exe starts and logs its address"
base="http://$addr"
tr -d '\r' <"$LOG" | grep -q 'notifying 3 channels$' || fail "the log names the channels"
ok "kotod.exe starts with the channel"

wait_lines 'map(select(.status == 200 and .body.data.event.type == "memory_high")) | length == 1' ||
  fail "memory_high reaches the receiver"
ok "memory_high reaches the receiver"
[ "$(jq -r -s '.[0].body | "\(.type) \(.data.event.type) \(.data.event.state)"' "$RLOG")" = \
  "koto.event.started memory_high started" ] || fail "the body is the started event: $(head -1 "$RLOG")"
ok "the body is the started event"
[ "$(jq -s '[.[] | select(.body.data.event.type == "memory_high")] | "\(length) \(map(.status) | join(",")) \(map(.id) | unique | length)"' "$RLOG")" = \
  '"2 503,200 1"' ] || fail "a 503 first, then 200 on the retry, under one id: $(jq -c -s 'map([.status, .id])' "$RLOG")"
ok "a 503 first, then 200 on the retry, under one id"
jq -e -s 'all(.verified)' "$RLOG" >/dev/null || fail "every attempt's signature verifies: $(jq -c -s 'map(.signature)' "$RLOG")"
jq -r -s '.[0].id' "$RLOG" | grep -q '^msg_[0-9a-f]\{32\}$' || fail "the id is a msg_ id"
ok "every attempt is signed (Standard Webhooks) and verifies"
jq -e -s '.[0].headers["user-agent"] | startswith("kotod/")' "$RLOG" >/dev/null ||
  fail "the user agent is kotod's"
jq -e -s '.[0].body.data.dashboard | test("^http://127.0.0.1:[0-9]+/monitoring-dashboard$")' "$RLOG" \
  >/dev/null || fail "the body links to the dashboard"
ok "the body links to the dashboard, from kotod/"

st="$(curl -fsS -m 10 "$base/api/agent/monitor/status")"
[ "$(jq -r '.notify.channels[] | select(.name == "hook") | "\(.name) \(.sent) \(.retried) \(.queued) \(.failed)"' <<<"$st")" = "hook 1 1 0 0" ] ||
  fail "status: sent 1, retried 1, nothing queued: $(jq -c .notify <<<"$st")"
ok "status: sent 1, retried 1, nothing queued"
curl -fsS -m 10 "$base/metrics" | tr -d '\r' |
  grep -q '^koto_notifications_total{channel="hook",result="sent"} 1$' || fail "/metrics counts it"
ok "/metrics counts it"

# wait_mail NAME JQ_SLURP_FILTER: until that SMTP server's log satisfies it
wait_mail() {
  for _ in $(seq 300); do
    jq -e -s "$2" "$DIR/$1.log" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
wait_mail plain 'map(select(.data | test("memory_high"))) | length == 1' ||
  fail "the email reaches the SMTP server: $(jq -c '.notify.channels[1]' <<<"$(curl -sS "$base/api/agent/monitor/status")")"
[ "$(jq -r -s '.[0] | "\(.from) \(.to | join(",")) \(.tls)"' "$DIR/plain.log")" = "koto@host.example ops@example.com false" ] ||
  fail "the envelope: $(head -c 300 "$DIR/plain.log")"
ok "the email reaches the SMTP server in the clear (starttls = false)"
wait_mail tls 'map(select(.data | test("memory_high"))) | length == 1' ||
  fail "the email comes over STARTTLS: $(jq -c '.notify.channels[2]' <<<"$(curl -sS "$base/api/agent/monitor/status")")"
[ "$(jq -r -s '.[0].tls' "$DIR/tls.log")" = true ] || fail "the session was TLS"
ok "the email comes over STARTTLS, Schannel checking the server against ca_file"

# ---- test messages ------------------------------------------------------------------------------
token="$(tr -d '\r\n' <"$DIR/state/token")"
code="$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X POST -d '{"channel":"hook"}' "$base/api/agent/notify/test")"
[ "$code" = 401 ] || fail "a test message needs the token (got $code)"
code="$(curl -sS -m 10 -o "$DIR/r.json" -w '%{http_code}' -H "Authorization: Bearer $token" -X POST \
  -d '{"channel":"nope"}' "$base/api/agent/notify/test")"
[ "$code $(jq -r .error.code "$DIR/r.json")" = "404 unknown_channel" ] || fail "an unknown channel is 404 (got $code)"
ok "a test message needs the token and a known channel"
test_id="$(curl -fsS -m 10 -H "Authorization: Bearer $token" -X POST -d '{"channel":"hook"}' \
  "$base/api/agent/notify/test" | jq -r .id)"
wait_lines "map(select(.id == \"$test_id\" and .status == 200 and .body.type == \"koto.test\" and .verified)) | length == 1" ||
  fail "POST /api/agent/notify/test is delivered, signed ($test_id)"
ok "POST /api/agent/notify/test is delivered, signed"

# ---- koto.exe against it ------------------------------------------------------------------------
# run WANT_RC ARGS...: koto.exe's output in $DIR/out (CRs dropped), stderr in $DIR/err
run() {
  local want="$1"; shift
  wine "$KOTO" "$@" </dev/null >"$DIR/out.raw" 2>"$DIR/err.raw"
  local rc=$?
  tr -d '\r' <"$DIR/out.raw" >"$DIR/out"
  tr -d '\r' <"$DIR/err.raw" >"$DIR/err"
  [ "$rc" = "$want" ] || fail "koto.exe $* exits with $want, not $rc: $(cat "$DIR/out" "$DIR/err")"
}
koto=(--url "$base" --state-dir "$WIN\\state")
run 1 "${koto[@]}" status
grep -q '^monitoring running, health .*store ok' "$DIR/out" || fail "status says monitoring runs: $(cat "$DIR/out")"
grep -q 'memory_high' "$DIR/out" || fail "status names the active condition: $(cat "$DIR/out")"
ok "koto.exe status: the active condition, exit 1"
run 1 "${koto[@]}" --json status
jq -e '.health.active[] | select(.type == "memory_high")' "$DIR/out" >/dev/null ||
  fail "koto.exe --json status carries the condition"
ok "koto.exe --json status"
run 0 "${koto[@]}" events -n 50
grep -Eq '^ +[0-9]+ +[0-9-]+ [0-9:]+ +started +memory_high +[a-z]+ +Memory' "$DIR/out" ||
  fail "koto.exe events lists memory_high started: $(cat "$DIR/out")"
ok "koto.exe events lists memory_high started"
run 0 "${koto[@]}" --json events --type memory_high
[ "$(jq -r '.events[0].type' "$DIR/out")" = memory_high ] || fail "koto.exe --json events --type"
ok "koto.exe --json events is the API's page"
run 2 "${koto[@]}" events -n 0
ok "koto.exe events -n 0 is a usage error (2)"
printf 'wrong-token\r\n' >"$DIR/wrong"
run 4 --url "$base" --token-file "$WIN\\wrong" silence add --for 1h --comment x
ok "koto.exe with a wrong token is refused (4)"
run 3 --url http://127.0.0.1:1 status
grep -q 'cannot reach kotod at http://127.0.0.1:1' "$DIR/err" || fail "it says where it looked: $(cat "$DIR/err")"
ok "koto.exe with no kotod there: 3, and where it looked"
run 0 "${koto[@]}" token
grep -Eq '^C:.koto-notify.state[\\/]token \(readable\)$' "$DIR/out" || fail "koto.exe token: $(cat "$DIR/out")"
ok "koto.exe token names kotod's token file"

# ---- a clean stop, then the one-shot test message ---------------------------------------------
kill -INT "$pid"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "kotod.exe stops on Ctrl-C within 10 s"
wait "$pid"
rc=$?
pid=""
[ "$rc" = 0 ] || fail "kotod.exe exited with $rc on Ctrl-C"
ok "kotod.exe stops cleanly"

n0="$(jq -s 'map(select(.body.type == "koto.test")) | length' "$RLOG")"
wine "$EXE" "${kargs[@]}" --test-notify hook </dev/null >"$DIR/tn.out" 2>&1 ||
  fail "kotod.exe --test-notify delivers: $(tr -d '\r' <"$DIR/tn.out")"
[ "$(jq -s 'map(select(.body.type == "koto.test" and .verified)) | length' "$RLOG")" = $((n0 + 1)) ] ||
  fail "kotod.exe --test-notify's message arrives, signed"
ok "kotod.exe --test-notify delivers, signed"
wine "$EXE" "${kargs[@]}" --test-notify nope </dev/null >"$DIR/tn.out" 2>&1 && fail "kotod.exe --test-notify of an unknown channel fails"
ok "kotod.exe --test-notify of an unknown channel fails"
echo "all passed"
