#!/usr/bin/env bash
# test_email.sh KOTOD - email channels through libcurl's SMTP client, against
# SMTP servers on loopback (Debian's python3-aiosmtpd, smtp_receiver.py):
#   - a plain server with a login: the message arrives with its envelope,
#     headers, the evidence, the busiest processes and the links;
#   - STARTTLS is required by default: a server without it gets nothing and
#     the channel says why; with it (a certificate the channel's ca_file
#     trusts) the message goes over TLS;
#   - credentials files are owner-only; -t names file and line;
#   - kotod --test-notify sends a test message.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

# Debian's python3, whose modules the package installs (not a python3 earlier on PATH).
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" -c 'import aiosmtpd' 2>/dev/null || { echo "python3-aiosmtpd is not installed (scripts/install-deps.sh)"; exit 1; }
fixture="$repo/tests/fixtures/linux-basic"
cp -r "$fixture/t0" "$tmp/proc"
set_mem_available 8000000
state="$tmp/state"

# smtpd NAME ARGS...: an SMTP server on a free port ($port), log $tmp/NAME.log
smtpd() {
  local name=$1; shift
  port=$(free_port)
  : >"$tmp/$name.log"
  "$py" "$here/smtp_receiver.py" "$port" "$tmp/$name.log" "$@" >"$tmp/$name.out" 2>&1 &
  bg_pids+=($!)
  local deadline=$((SECONDS + 15))
  until grep -q ready "$tmp/$name.out" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
printf 'koto:s3cret-pass\n' >"$tmp/cred"
chmod 600 "$tmp/cred"

smtpd plain --auth koto:s3cret-pass; plain_port=$port
smtpd notls; notls_port=$port
smtpd tls --tls "$tmp/cert.pem" "$tmp/key.pem" --auth koto:s3cret-pass; tls_port=$port

cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               process_memory = { enabled = false }, disk = { enabled = false } }
local only = { "memory_high" }
notify = {
  { name = "mail", kind = "email", url = "smtp://127.0.0.1:$plain_port", starttls = false,
    from = "koto@host.example", to = { "ops@example.com", "oncall@example.com" },
    credentials_file = "$tmp/cred", types = only },
  { name = "strict", kind = "email", url = "smtp://127.0.0.1:$notls_port",
    from = "koto@host.example", to = { "ops@example.com" }, types = only, backoff_ms = 200 },
  { name = "tls", kind = "email", url = "smtp://127.0.0.1:$tls_port", ca_file = "$tmp/cert.pem",
    from = "koto@host.example", to = { "sec@example.com" }, credentials_file = "$tmp/cred",
    types = only, send_resolved = false },
}
LUA
check "-t accepts the email channels" "$KOTOD" -t -c "$tmp/koto.conf.lua" --state-dir "$state"
bad() { # NAME PATTERN LUA
  printf '%s\n' "$3" >"$tmp/bad.lua"
  "$KOTOD" -t -c "$tmp/bad.lua" --state-dir "$state" >"$tmp/t.out" 2>&1
  if grep -q -- "$2" "$tmp/t.out"; then ok "$1"; else not_ok "$1" "$(cat "$tmp/t.out")"; fi
}
cp "$tmp/cred" "$tmp/open.cred"; chmod 640 "$tmp/open.cred"
bad "-t: a credentials file others can read" "bad.lua:1: notify\[1\].credentials_file .* only its owner" \
  "notify = { { name = \"m\", kind = \"email\", url = \"smtp://x\", from = \"a@b\", to = { \"c@d\" }, credentials_file = \"$tmp/open.cred\" } }"
bad "-t: an email needs recipients" "notify\[1\].to must list" \
  'notify = { { name = "m", kind = "email", url = "smtp://x", from = "a@b" } }'
bad "-t: an address with a line break" "notify\[1\].to has" \
  'notify = { { name = "m", kind = "email", url = "smtp://x", from = "a@b", to = { "c@d\r\nBcc: e@f" } } }'
bad "-t: an email url is smtp" "notify\[1\].url must be an smtp" \
  'notify = { { name = "m", kind = "email", url = "http://x", from = "a@b", to = { "c@d" } } }'
bad "-t: from is an email's field" "notify\[1\].from is an email channel's field" \
  'notify = { { name = "m", kind = "webhook", url = "http://x", from = "a@b" } }'

start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
  --listen 127.0.0.1:0 --interval 100 --state-dir "$state"
wait_log "dashboard at http://" 15 || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
status() { curl -sS "$base/api/agent/monitor/status"; }

set_mem_available 1000000 # 94 %
if wait_lines "$tmp/plain.log" 'length >= 1'; then ok "the mail arrives"
else not_ok "the mail arrives" "$(cat "$tmp/plain.out")" "$(tail -5 "$tmp/kotod.log")"; fi
m=$(jq -c -s '.[0]' "$tmp/plain.log")
expect_eq "envelope: from, both recipients, the login" "koto@host.example ops@example.com,oncall@example.com koto" \
  "$(jq -r '"\(.from) \(.to | join(",")) \(.login)"' <<<"$m")"
data=$(jq -r .data <<<"$m")
check "Subject names the host, the event and its severity" grep -q '^Subject: \[koto\] .*: memory_high started (high)' <<<"$data"
check "a Message-ID" grep -q '^Message-ID: <msg_[0-9a-f]\{32\}@' <<<"$data"
check "plain text, UTF-8" grep -q '^Content-Type: text/plain; charset=utf-8' <<<"$data"
check "the evidence" grep -q '^Value: *9[0-9]\.[0-9] (threshold 80\.0)' <<<"$data"
check "an unknown CPU share is left out, not NaN" bash -c "! grep -qi nan <<<\"\$1\"" _ "$data"
check "the busiest processes" grep -q 'The busiest processes at that moment' <<<"$data"
check "the dashboard link" grep -q "^Dashboard: $base/monitoring-dashboard" <<<"$data"
check "the fix script's way" grep -q "$base/api/agent/generate-script.*memory_high" <<<"$data"

if wait_lines "$tmp/tls.log" 'length >= 1'; then ok "with STARTTLS and the channel's CA, the mail arrives"
else not_ok "with STARTTLS and the channel's CA, the mail arrives" "$(cat "$tmp/tls.out")" "$(grep tls "$tmp/kotod.log" | tail -3)"; fi
expect_eq "over TLS, logged in" "true koto" "$(jq -r -s '.[0] | "\(.tls) \(.login)"' "$tmp/tls.log")"

deadline=$((SECONDS + 15))
until status | jq -e '.notify.channels[] | select(.name == "strict") | .retried >= 1' >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
st=$(status)
expect_eq "STARTTLS is required: nothing goes to a server without it" 0 "$(jq -s length "$tmp/notls.log")"
if jq -e '.notify.channels[] | select(.name == "strict") | .sent == 0 and .queued == 1 and (.last_error | test("STARTTLS|SSL|TLS"; "i"))' <<<"$st" >/dev/null; then
  ok "the channel says why and keeps the message"
else not_ok "the channel says why and keeps the message" "$(jq -c '.notify.channels' <<<"$st")"; fi
if grep -qF "s3cret-pass" "$tmp/kotod.log" || curl -sS "$base/api/agent/config" | grep -qF "s3cret-pass"; then
  not_ok "the password is neither logged nor shown"
else ok "the password is neither logged nor shown"; fi

set_mem_available 8000000 # resolved: to mail, not to tls (send_resolved = false)
if wait_lines "$tmp/plain.log" 'map(select(.data | test("memory_high resolved"))) | length == 1'; then
  ok "the resolution is mailed"
else not_ok "the resolution is mailed" "$(jq -r -s 'map(.data | split("\r\n")[2])' "$tmp/plain.log")"; fi
stop_kotod TERM
expect_eq "one mail only to the channel without send_resolved" 1 "$(jq -s length "$tmp/tls.log")"

"$KOTOD" --test-notify mail -c "$tmp/koto.conf.lua" --state-dir "$state" >"$tmp/tn.out" 2>&1
expect_eq "kotod --test-notify mail" 0 "$?"
check "the test mail arrives" jq -e -s 'map(select(.data | test("a test message through mail"))) | length == 1' "$tmp/plain.log"
finish
