#!/usr/bin/env bash
# kotod's HTTP frontend on the wire, the same checks for the Linux build and
# for kotod.exe under Wine, driven with bash (its /dev/tcp) and curl only. The limits (400,
# 404, 405, 408, 411, 413, 414, 431) with their JSON errors, request smuggling
# refused and the connection closed, keep-alive with pipelined requests
# answered in order, chunked request bodies, a slow client timed out while
# /healthz keeps answering, 300 idle connections held open (the pollset is
# WSAPoll() on Windows, not epoll), the token and origin checks, the event
# stream, /metrics, and a clean stop on Ctrl-C.
#   Usage: test_http_wire.sh KOTOD SOURCE_DIR WEB_DIR
# A KOTOD ending in .exe runs under Wine, inside scripts/win-test.sh (which
# provides WINEPREFIX and a persistent wineserver); any other runs natively.
set -uo pipefail
export LC_ALL=C
EXE="$1" SRC="$(cd "$2" && pwd)" WEB="$(cd "$3" && pwd)"
trap '' PIPE # a write to a connection the server closed must fail, not kill us

if [[ $EXE == *.exe ]]; then
  : "${WINEPREFIX:?run through scripts/win-test.sh (it sets up Wine)}"
  DIR="$WINEPREFIX/drive_c/koto-http" # C:\koto-http
  winpath() { local p="${1//\//\\}"; echo "Z:$p"; }
  launch=(wine "$EXE" --foreground) state_arg='C:\koto-http\state'
  lua_arg="$(winpath "$SRC/lua")" web_arg="$(winpath "$WEB")"
else
  DIR="$(mktemp -d)"
  launch=("$EXE") state_arg="$DIR/state" lua_arg="$SRC/lua" web_arg="$WEB"
fi
LOG="$DIR/kotod.log"
T="$DIR/t" # scratch: responses, headers

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '     %s\n' "$@"; }
die() { not_ok "$@"; [ -f "$LOG" ] && sed 's/^/  log: /' "$LOG" | tr -d '\r' | tail -40; exit 1; }
# expect NAME WANT GOT
expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "want: $2" "got:  $3"; fi; }
now_ms() { local t="${EPOCHREALTIME//[.,]/}"; echo $((t / 1000)); }

pid="" bg_pids=()
cleanup() {
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$DIR"
}
trap cleanup EXIT
rm -rf "$DIR"
mkdir -p "$DIR" "$T"
t_start=$(now_ms)
# The hang guards' seconds, widened where the build is slower by design (TSan).
scale=${KT_TIME_SCALE:-1}

# ---- start ----------------------------------------------------------------------
"${launch[@]}" --listen 127.0.0.1:0 --lua-dir "$lua_arg" --web-dir "$web_arg" \
  --state-dir "$state_arg" --interval 200 </dev/null >"$LOG" 2>&1 &
pid=$!
addr=""
for _ in $(seq 300); do
  addr="$(tr -d '\r' <"$LOG" | sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' | head -1)"
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$addr" ] || die "kotod starts and logs its address"
HOST="${addr%:*}" PORT="${addr##*:}" base="http://$addr"
token="$(tr -d '\r\n' <"$DIR/state/token" 2>/dev/null)"
[ ${#token} -eq 64 ] || die "the token file holds 64 hex digits" "got '$token'"
if [[ $EXE == *.exe ]] && ! tr -d '\r' <"$LOG" | grep -q 'reading the Windows APIs'; then
  die "the Windows build runs (its log names the Windows APIs)"
fi
ok "kotod serves on $addr ($(($(now_ms) - t_start)) ms after launch)"

# ---- raw connections --------------------------------------------------------------
# raw NAME BYTES [WAIT]: opens a connection, sends BYTES (printf %b: \r\n are
# escapes), reads until the server closes it or WAIT s (default 5) pass. The
# answer is in $T/NAME; closed=1 when the server closed the connection.
raw() {
  local fd rc
  closed=0
  : >"$T/$1"
  exec {fd}<>"/dev/tcp/$HOST/$PORT" || return 1
  printf '%b' "$2" 1>&"$fd" 2>/dev/null
  timeout "${3:-5}" cat <&"$fd" >"$T/$1" 2>/dev/null
  rc=$?
  exec {fd}>&-
  [ $rc -ne 124 ] && closed=1 # EOF or reset: closed; 124: still open when we gave up
  return 0
}
# The answers in a file, one line each: "STATUS BODY-PREFIX", read by their
# framing (Content-Length), so a torn or misframed answer shows.
responses() {
  local in line status len body
  exec {in}<"$1"
  while IFS= read -r line <&"$in"; do
    line="${line%$'\r'}"
    if [[ ! $line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]]; then echo "junk:${line:0:40}"; break; fi
    status="${BASH_REMATCH[1]}" len=0
    while IFS= read -r line <&"$in"; do
      line="${line%$'\r'}"
      [ -z "$line" ] && break
      [[ ${line,,} =~ ^content-length:\ *([0-9]+) ]] && len="${BASH_REMATCH[1]}"
    done
    body=""
    [ "$len" -gt 0 ] && IFS= read -r -N "$len" body <&"$in"
    echo "$status ${body:0:40}"
  done
  exec {in}<&-
}
status_of() { head -1 "$T/$1" | tr -d '\r' | cut -d' ' -f2; }
header_of() { sed -n '1,/^\r\?$/p' "$T/$1" | tr -d '\r' | sed -n "s/^$2: //Ip" | head -1; }
body_of() { sed '1,/^\r\?$/d' "$T/$1"; }
# json_error NAME CODE: the body is {"error":{"code":CODE,"message":"..."}}
json_error() { body_of "$1" | grep -Eq "^\\{\"error\":\\{\"code\":\"$2\",\"message\":\"[^\"]"; }

# refused NAME BYTES STATUS CODE: answered STATUS with the JSON error CODE,
# Connection: close, and the connection closed (as test_http.c's expect_refusal).
refused() {
  local name="$1" what="$4 ($3)"
  raw "$name" "$2"
  local got
  got="$(status_of "$name") $(json_error "$name" "$4" && echo json) $(header_of "$name" Connection) $closed"
  expect "$name: $what, JSON error, connection closed" "$3 json close 1" "$got"
  [ "$got" = "$3 json close 1" ] || printf '     answer: %s\n' "$(head -c 300 "$T/$name" | tr -d '\r' | tr '\n' '|')"
}

# ---- a slow client (runs in the background while the rest goes on) -------------------
# One header byte every 200 ms: the head deadline (10 s) runs from the first
# byte, so the trickle buys no time. Writes "STATUS ELAPSED_MS CLOSED".
slow_client() {
  local fd t0 line rc
  exec {fd}<>"/dev/tcp/$HOST/$PORT" || { echo "connect-failed" >"$T/slow.result"; return; }
  printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Slow: ' "$addr" 1>&"$fd"
  t0=$(now_ms)
  echo "$t0" >"$T/slow.t0"
  while [ $(($(now_ms) - t0)) -lt 20000 ]; do
    if IFS= read -r -t 0.2 line <&"$fd"; then break; fi
    line=""
    printf 'a' 1>&"$fd" 2>/dev/null || break
  done
  local t1
  t1=$(now_ms)
  { printf '%s\n' "$line"; timeout 5 cat <&"$fd" 2>/dev/null; } >"$T/slow"
  rc=$?
  exec {fd}>&-
  echo "$(printf '%s' "$line" | tr -d '\r' | cut -d' ' -f2) $((t1 - t0)) $([ $rc -ne 124 ] && echo 1 || echo 0)" \
    >"$T/slow.result"
}
slow_client &
bg_pids+=($!)

# The live stream, read for the rest of the run.
curl -sS -N -D "$T/sse.head" "$base/api/agent/monitor/stream" >"$T/sse" 2>&1 &
bg_pids+=($!)

# ---- while the slow client trickles: /healthz answers -----------------------------------
for _ in $(seq 100); do [ -s "$T/slow.t0" ] && break; sleep 0.05; done
sleep 0.5 # not a wait for anything: a few bytes trickled in, the head half-read
h="$(curl -sS -m "$scale" -o /dev/null -w '%{http_code} %{time_total}' "$base/healthz" 2>&1)"
if [ "${h%% *}" = 200 ] && [ ! -s "$T/slow.result" ]; then
  ok "/healthz answers (${h#* } s) while a slow client trickles its head"
else
  not_ok "/healthz answers while a slow client trickles its head" "healthz: $h" \
    "slow client: $(cat "$T/slow.result" 2>/dev/null)"
fi

# ---- the limits, each with its JSON error -------------------------------------------------
refused "400" 'GARBAGE\r\n\r\n' 400 bad_request
refused "400-no-host" 'GET /healthz HTTP/1.1\r\n\r\n' 400 bad_request

# DNS rebinding: a name that is not localhost, the listen address or a
# configured server name gets 421, on the dashboard and the API alike.
refused "421-rebound" 'GET /api/agent/monitor/status HTTP/1.1\r\nHost: evil.example:5000\r\n\r\n' \
  421 misdirected_request
refused "421-dashboard" 'GET /monitoring-dashboard HTTP/1.1\r\nHost: koto.evil.example\r\n\r\n' \
  421 misdirected_request
raw localhost "GET /healthz HTTP/1.1\r\nHost: localhost:${addr##*:}\r\nConnection: close\r\n\r\n"
expect "Host: localhost is answered" 200 "$(status_of localhost)"

raw 404 "GET /nope HTTP/1.1\r\nHost: $addr\r\nConnection: close\r\n\r\n"
expect "404: unknown path, JSON error" "404 json" "$(status_of 404) $(json_error 404 not_found && echo json)"
raw 405 "DELETE /api/agent/monitor/status HTTP/1.1\r\nHost: $addr\r\nConnection: close\r\n\r\n"
expect "405: DELETE on a GET route, JSON error, Allow: GET, HEAD" "405 json GET, HEAD" \
  "$(status_of 405) $(json_error 405 method_not_allowed && echo json) $(header_of 405 Allow)"
raw 405-get "GET /api/agent/monitor/start HTTP/1.1\r\nHost: $addr\r\nConnection: close\r\n\r\n"
expect "405: GET on a POST route, Allow: POST" "405 json POST" \
  "$(status_of 405-get) $(json_error 405-get method_not_allowed && echo json) $(header_of 405-get Allow)"

# HTTP/1.0 required a length on a request body; HTTP/1.1 without one has an
# empty body (so `curl -X POST` works, as test_api.sh uses it).
gen='{"issue_type":"disk_full"}'
refused "411" "POST /api/agent/generate-script HTTP/1.0\r\nContent-Type: application/json\r\n\r\n$gen" \
  411 length_required
raw 411-http11 "POST /api/agent/generate-script HTTP/1.1\r\nHost: $addr\r\nConnection: close\r\n\r\n"
expect "411: an HTTP/1.1 POST without a length has an empty body (no issue_type: 422)" "422 json" \
  "$(status_of 411-http11) $(json_error 411-http11 bad_parameter && echo json)"

refused "413" "POST /api/agent/generate-script HTTP/1.1\r\nHost: $addr\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n" \
  413 payload_too_large
# Chunked past the 1 MiB limit: refused while reading.
chunk="$(head -c 65536 /dev/zero | tr '\0' x)"
big="POST /api/agent/generate-script HTTP/1.1\r\nHost: $addr\r\nTransfer-Encoding: chunked\r\n\r\n"
for _ in $(seq 17); do big+="10000\r\n$chunk\r\n"; done
refused "413-chunked" "${big}0\r\n\r\n" 413 payload_too_large
unset big chunk

refused "414" "GET /$(head -c 3000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: $addr\r\n\r\n" 414 uri_too_long
refused "431-size" "GET /healthz HTTP/1.1\r\nHost: $addr\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' b)\r\n\r\n" \
  431 header_fields_too_large
many="GET /healthz HTTP/1.1\r\nHost: $addr\r\n"
for i in $(seq 70); do many+="X-H$i: $i\r\n"; done
refused "431-count" "$many\r\n" 431 header_fields_too_large
many="GET /healthz HTTP/1.1\r\nHost: $addr\r\nConnection: close\r\n"
for i in $(seq 62); do many+="X-H$i: $i\r\n"; done
raw 431-ok "$many\r\n"
expect "431: 62 headers + Host + Connection (the limit, 64) pass" 200 "$(status_of 431-ok)"

# ---- request smuggling -----------------------------------------------------------------
# Each with a second request behind it, which must never be answered.
next="GET /healthz HTTP/1.1\r\nHost: $addr\r\n\r\n"
post="POST /api/agent/generate-script HTTP/1.1\r\nHost: $addr\r\n"
refused "smuggle-cl-te" "${post}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$next" \
  400 bad_request
expect "smuggle-cl-te: one answer only" 1 "$(responses "$T/smuggle-cl-te" | wc -l)"
refused "smuggle-te-cl" "${post}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n$next" \
  400 bad_request
expect "smuggle-te-cl: one answer only" 1 "$(responses "$T/smuggle-te-cl" | wc -l)"
refused "smuggle-cl-cl" "${post}Content-Length: 26\r\nContent-Length: 5\r\n\r\n$gen$next" \
  400 bad_request
expect "smuggle-cl-cl: one answer only" 1 "$(responses "$T/smuggle-cl-cl" | wc -l)"
refused "smuggle-te-te" "${post}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$next" \
  400 bad_request

# ---- keep-alive: pipelined on one connection, answered in order ---------------------------
pipe=""
for path in /healthz /metrics /nope /api/agent/monitor/events "DELETE /api/agent/monitor/status" \
  /api/agent/monitor/status "POST $gen" /api/agent/history?metric=cpu; do
  case "$path" in
  "POST "*) pipe+="POST /api/agent/generate-script HTTP/1.1\r\nHost: $addr\r\nContent-Type: application/json\r\nContent-Length: ${#gen}\r\n\r\n$gen" ;;
  "DELETE "*) pipe+="$path HTTP/1.1\r\nHost: $addr\r\n\r\n" ;;
  *) pipe+="GET $path HTTP/1.1\r\nHost: $addr\r\n\r\n" ;;
  esac
done
pipe+="GET /healthz HTTP/1.1\r\nHost: $addr\r\nConnection: close\r\n\r\n"
raw pipelined "$pipe" 10
got="$(responses "$T/pipelined" | awk '{
  s = $1; b = substr($0, 5)
  if (b ~ /^\{"status":"ok"/) k = "healthz"; else if (b ~ /^# HELP (koto|node)_/) k = "metrics"
  else if (b ~ /^\{"error":\{"code":"not_found"/) k = "not_found"
  else if (b ~ /^\{"error":\{"code":"method_not_allowed"/) k = "not_allowed"
  else if (b ~ /^\{"events":/) k = "events"; else if (b ~ /^\{"running":/) k = "status"
  else if (b ~ /^\{"issue_type":"disk_full"/) k = "script"; else if (b ~ /^\{"metric":"cpu"/) k = "history"
  else k = "?" b
  printf "%s%s:%s", sep, s, k; sep = " " }')"
expect "keep-alive: 9 pipelined requests on one connection, answered in order" \
  "200:healthz 200:metrics 404:not_found 200:events 405:not_allowed 200:status 200:script 200:history 200:healthz" \
  "$got"
expect "keep-alive: closed after Connection: close" 1 "$closed"

# ---- a chunked request body -----------------------------------------------------------------
raw chunked "${post}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n7\r\n{\"issue\r\n13\r\n_type\":\"disk_full\"}\r\n0\r\n\r\n"
expect "chunked: a generate-script body in two chunks is read whole" "200 {\"issue_type\":\"disk_full\"," \
  "$(responses "$T/chunked" | cut -c1-30)"
code="$(curl -sS -o "$T/chunked-curl" -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
  -H 'Content-Type: application/json' --data-binary "$gen" "$base/api/agent/generate-script")"
expect "chunked: curl's chunked POST to generate-script" "200 script" \
  "$code $(grep -q '"script":' "$T/chunked-curl" && echo script)"

# ---- the token, from this origin only -----------------------------------------------------
post_clear() { curl -sS -o "$T/clear" -D "$T/clear.head" -w '%{http_code}' -X POST "$@" \
  "$base/api/agent/monitor/clear"; }
code="$(post_clear)"
expect "clear without the token: 401, JSON error, WWW-Authenticate: Bearer" "401 json Bearer" \
  "$code $(grep -Eq '^\{"error":\{"code":"[a-z_]+","message":"[^"]' "$T/clear" && echo json) $(tr -d '\r' <"$T/clear.head" | sed -n 's/^WWW-Authenticate: \(Bearer\).*/\1/Ip')"
expect "clear with a wrong token: 401" 401 "$(post_clear -H "Authorization: Bearer wrong")"
expect "clear with the token: 200" 200 "$(post_clear -H "Authorization: Bearer $token")"
expect "clear with the token from another origin: 403" 403 \
  "$(post_clear -H "Authorization: Bearer $token" -H "Origin: http://evil.example")"
expect "clear with the token from a cross-site page: 403" 403 \
  "$(post_clear -H "Authorization: Bearer $token" -H "Sec-Fetch-Site: cross-site")"
expect "clear with the token from our own origin: 200" 200 \
  "$(post_clear -H "Authorization: Bearer $token" -H "Origin: $base")"
expect "no CORS header is ever sent" 0 "$(grep -ci '^Access-Control-' "$T/clear.head")"

# ---- 300 idle connections ------------------------------------------------------------------
ulimit -n 4096 2>/dev/null || true
idle=()
t0=$(now_ms)
for _ in $(seq 300); do
  exec {fd}<>"/dev/tcp/$HOST/$PORT" || break
  idle+=("$fd")
done
t_open=$(($(now_ms) - t0))
h="$(curl -sS -m "$scale" -o /dev/null -w '%{http_code} %{time_total}' "$base/healthz" 2>&1)"
expect "300 idle connections open ($t_open ms), /healthz answers within $scale s (${h#* } s)" \
  "300 200" "${#idle[@]} ${h%% *}"
conns=0
for _ in $(seq 40); do
  conns="$(curl -sS -m "$((2 * scale))" "$base/metrics" | sed -n 's/^koto_http_connections \([0-9]*\)$/\1/p')"
  [ "${conns:-0}" -ge 301 ] && break
  sleep 0.05
done
expect "the server holds them all (koto_http_connections >= 301)" yes \
  "$([ "${conns:-0}" -ge 301 ] && echo yes || echo "no: ${conns:-none}")"
for fd in "${idle[@]}"; do exec {fd}>&-; done
h="$(curl -sS -m "$scale" -o /dev/null -w '%{http_code}' "$base/healthz" 2>&1)"
expect "and /healthz after they close" 200 "$h"

# ---- the live stream ----------------------------------------------------------------------
for _ in $(seq 100); do [ "$(grep -c '^event: sample' "$T/sse")" -ge 2 ] && break; sleep 0.05; done
expect "stream: text/event-stream, retry first, samples arrive" "text/event-stream retry: 2000 yes" \
  "$(tr -d '\r' <"$T/sse.head" | sed -n 's/^Content-Type: //Ip' | cut -d';' -f1) $(head -1 "$T/sse") $([ "$(grep -c '^event: sample' "$T/sse")" -ge 2 ] && echo yes)"
# Counted, not grep -q: that stops reading early and, under pipefail, the
# first grep's broken pipe fails the check.
check_sample() { [ "$(grep -A1 '^event: sample' "$T/sse" | grep -c '^data: {')" -gt 0 ]; }
expect "stream: each sample's data is JSON" yes "$(check_sample && echo yes)"

# ---- /metrics --------------------------------------------------------------------------------
code="$(curl -sS -o "$T/metrics" -D "$T/metrics.head" -w '%{http_code}' "$base/metrics")"
expect "metrics: 200, text/plain; version=0.0.4" "200 text/plain; version=0.0.4" \
  "$code $(tr -d '\r' <"$T/metrics.head" | sed -n 's/^Content-Type: //Ip' | cut -d';' -f1-2)"
expect "metrics: koto_ lines, HELP and TYPE for each family" yes \
  "$([ "$(grep -c '^koto_' "$T/metrics")" -gt 10 ] &&
    [ "$(grep -c '^# HELP' "$T/metrics")" -eq "$(grep -c '^# TYPE' "$T/metrics")" ] && echo yes)"
expect "metrics: every line is a comment or 'name{labels} value'" "" \
  "$(grep -Ev '^(# (HELP|TYPE) .*|(koto|node|process)_[a-zA-Z0-9_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+|)$' "$T/metrics" | head -3)"
check_4xx() { grep -Eq '^koto_http_requests_total\{code="4xx"\} [1-9]' "$T/metrics"; }
expect "metrics: the refusals above are counted as 4xx" yes "$(check_4xx && echo yes)"

h="$(curl -sS -m "$scale" -o /dev/null -w '%{http_code}' "$base/healthz" 2>&1)"
into=$(($(now_ms) - $(cat "$T/slow.t0")))
if [ -s "$T/slow.result" ]; then
  expect "/healthz still answers (the slow client was answered before ${into} ms)" 200 "$h"
else
  expect "/healthz still answers ${into} ms into the slow client's head" 200 "$h"
fi

# ---- the slow client's answer ------------------------------------------------------------------
for _ in $(seq 300); do [ -s "$T/slow.result" ] && break; sleep 0.05; done
read -r s_status s_ms s_closed <"$T/slow.result" 2>/dev/null
s_json=$(sed '1,/^\r\?$/d' "$T/slow" | grep -Eq '^\{"error":\{"code":"request_timeout","message":"[^"]' &&
  echo json)
expect "slow client: 408 with a JSON error after the 10 s head deadline (${s_ms:-?} ms), closed" \
  "408 json in-time 1" \
  "${s_status:-none} ${s_json:-nojson} $([ "${s_ms:-0}" -ge 9500 ] && [ "${s_ms:-0}" -le 13000 ] && echo in-time || echo "${s_ms:-?}ms") ${s_closed:-?}"

# ---- stop ---------------------------------------------------------------------------------------
# SIGINT: Wine turns it into the console's Ctrl-C, as kotod --foreground
# expects on Windows (SIGTERM would just end the process under Wine: Windows
# has no such signal). Linux's kotod stops cleanly on either. The stream
# opened above is still open, as in test_api.sh.
kill -INT "$pid"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then
  not_ok "kotod stops on Ctrl-C (SIGINT) within 10 s with a stream open"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
else
  wait "$pid"
  rc=$?
  expect "stopped on Ctrl-C (SIGINT) with a stream open: exit 0, 'stopped' logged" "0 yes" \
    "$rc $(tr -d '\r' <"$LOG" | grep -q ' stopped$' && echo yes)"
fi
pid=""
released=no
for _ in $(seq 100); do
  curl -sS -m "$scale" -o /dev/null "$base/healthz" 2>/dev/null
  [ $? -eq 7 ] && { released=yes; break; } # connection refused
  sleep 0.05
done
expect "the port is released" yes "$released"

echo "$passed passed, $failed failed in $(($(now_ms) - t_start)) ms"
[ "$failed" -eq 0 ]
