#!/usr/bin/env bash
# test_session.sh KOTOD WEB_DIR - the dashboard's login on a listener that
# needs the token for everything (0.0.0.0, reached on 127.0.0.1): the login
# page, the token exchanged for a session cookie, the cookie for reads and
# the live stream, CSRF on changes, logout, expiry, the bound on sessions and
# the rate limit on failed logins, driven with curl.
# A KOTOD ending in .exe runs under Wine, inside scripts/win-test.sh (which
# provides WINEPREFIX and a persistent wineserver), reading the Windows APIs.
KOTOD=$1
WEB_DIR=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

if [[ $KOTOD == *.exe ]]; then
  : "${WINEPREFIX:?run through scripts/win-test.sh (it sets up Wine)}"
  winpath() { local p="${1//\//\\}"; echo "Z:$p"; }
  state="$WINEPREFIX/drive_c/koto-session/state" # C:\koto-session\state
  rm -rf "${state%/state}"
  kotod=(wine "$KOTOD") run=(--foreground --state-dir 'C:\koto-session\state' --web-dir "$(winpath "$WEB_DIR")"
    --lua-dir "$(winpath "$repo/lua")")
  conf_arg=$(winpath "$tmp/koto.conf.lua")
else
  winpath() { echo "$1"; }
  state="$tmp/state"
  cp -r "$repo/tests/fixtures/linux-basic/t0" "$tmp/proc"
  kotod=("$KOTOD") run=(--state-dir "$state" --web-dir "$WEB_DIR" --procfs "$tmp/proc"
    --sysfs "$repo/tests/fixtures/linux-basic/sys")
  conf_arg="$tmp/koto.conf.lua"
fi

# start [koto.conf.lua lines]: kotod on 0.0.0.0, sets base and token.
start() {
  # Plain HTTP on 0.0.0.0 is allowed here: this test is about the login
  # (the browser test logs in over HTTPS, kotod_tls tests TLS itself).
  printf '%s\n' "allow_plain_http = true" "$@" >"$tmp/koto.conf.lua"
  : >"$tmp/kotod.log"
  "${kotod[@]}" -c "$conf_arg" "${run[@]}" --listen 0.0.0.0:0 --interval 100 \
    </dev/null >"$tmp/kotod.out" 2>"$tmp/kotod.log" &
  kotod_pid=$!
  for _ in $(seq 600); do # Wine starts slowly; a kotod that exits is not waited for
    grep -q "dashboard at http://" "$tmp/kotod.log" && break
    kill -0 "$kotod_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "dashboard at http://" "$tmp/kotod.log"; then
    not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit
  fi
  port=$(tr -d '\r' <"$tmp/kotod.log" | sed -n 's|.*dashboard at http://[^/]*:\([0-9]*\)/.*|\1|p' | head -1)
  base="http://127.0.0.1:$port"
  token=$(tr -d '\r\n' <"$state/token")
}

# get PATH [curl args] -> body in $tmp/body, status in $code, headers in $tmp/head
get() {
  local path=$1; shift
  code=$(curl -sS -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@" "$base$path")
}
post() { local path=$1; shift; get "$path" -X POST "$@"; }
body() { jq -r "$1" "$tmp/body"; }
# differ SECRET: the secret with its last digit changed.
differ() { if [ "${1: -1}" = 0 ]; then echo "${1%?}1"; else echo "${1%?}0"; fi; }
header() { tr -d '\r' <"$tmp/head" | sed -n "s/^$1: //Ip" | head -1; }
# login [curl args]: POSTs the token; sets cookie and csrf on success.
login() {
  post /api/agent/session -H 'Content-Type: application/json' -d "{\"token\": \"$token\"}" "$@"
  cookie=$(header Set-Cookie | sed -n 's/^koto_session=\([^;]*\);.*/\1/p')
  csrf=$(body '.csrf_token // empty' 2>/dev/null)
}

start ""

# ---- the login page ---------------------------------------------------------------------------
get /monitoring-dashboard
expect_eq "the dashboard without a login: 200" 200 "$code"
check "the dashboard without a login is the login page" grep -q 'id="login-form"' "$tmp/body"
check "the login page has the strict CSP" grep -qi "^Content-Security-Policy: default-src 'self'" "$tmp/head"
get /monitoring-dashboard/login.js
expect_eq "the login page's script is served" 200 "$code"
get /monitoring-dashboard/koto.css
expect_eq "the login page's style sheet is served" 200 "$code"
get /monitoring-dashboard/app.js
expect_eq "the dashboard's own scripts are not" 401 "$code"
get /api/agent/monitor/status
expect_eq "the API without a login: 401" 401 "$code"
get /api/agent/session
expect_eq "GET /api/agent/session without a login: 200" 200 "$code"
expect_eq "... no session, the token required" "false true" "$(body '"\(.session) \(.token_required)"')"

# ---- failed logins: refused, logged, rate-limited per address ------------------------------------
# From 127.0.0.2 (every 127/8 address is this machine's on Linux), so that
# 127.0.0.1 keeps its own count.
codes=''
for _ in 1 2 3 4 5 6; do
  post /api/agent/session --interface 127.0.0.2 -H 'Content-Type: application/json' -d '{"token": "wrong"}'
  codes+="$code "
done
expect_eq "five wrong tokens refused, the sixth rate-limited" "401 401 401 401 401 429 " "$codes"
expect_eq "the 429 says why" too_many_logins "$(body .error.code)"
retry=$(header Retry-After)
check "the 429 has Retry-After within the minute ($retry)" test "$retry" -ge 1 -a "$retry" -le 60
login --interface 127.0.0.2
expect_eq "once limited, even the right token waits" 429 "$code"
check "failed logins are logged with the address" \
  grep -q 'login from 127.0.0.2 refused: wrong token (5 of 5' "$tmp/kotod.log"
expect_eq "the limited address is logged once, not each of its tries" 1 \
  "$(grep -c 'login from 127.0.0.2 refused: too many failed logins' "$tmp/kotod.log")"
post /api/agent/session -d '{}'
expect_eq "no token at all: 401" 401 "$code"
post /api/agent/session -H 'Content-Type: application/json' -H 'Origin: http://evil.example' \
  -d "{\"token\": \"$token\"}"
expect_eq "a login posted from another origin: 403" 403 "$code"

# ---- the right token: a cookie with its attributes -----------------------------------------------
login
expect_eq "the right token from another address logs in" 200 "$code"
setc=$(header Set-Cookie)
for attr in HttpOnly Secure SameSite=Strict Path=/ Max-Age=43200; do
  check "the cookie is $attr" grep -q "; $attr\(;\|$\)" <<<"$setc"
done
check "the session id is 64 hex digits" grep -qE '^[0-9a-f]{64}$' <<<"$cookie"
check "the answer carries a CSRF token" grep -qE '^[0-9a-f]{64}$' <<<"$csrf"
check "the login is logged" grep -q "login from 127.0.0.1 with token 'default' (read,propose,control): a session for 43200 s" "$tmp/kotod.log"
first_cookie=$cookie
login -H "Authorization: Bearer $token" -d ''
expect_eq "the token may come as a bearer header too" 200 "$code"
check "each login gets its own session" test "$cookie" != "$first_cookie"
jar=(-H "Cookie: koto_session=$cookie")

# ---- the cookie for reads and the stream ---------------------------------------------------------
get /api/agent/monitor/status "${jar[@]}"
expect_eq "GET by cookie: 200" 200 "$code"
get /api/agent/monitor/status -H "Cookie: theme=dark; koto_session=$cookie; other=1"
expect_eq "the cookie among others" 200 "$code"
get /api/agent/monitor/status -H "Cookie: koto_session=$(differ "$cookie")"
expect_eq "a forged session id: 401" 401 "$code"
get /monitoring-dashboard "${jar[@]}"
check "by cookie the dashboard is the dashboard" grep -q 'app.js' "$tmp/body"
get /api/agent/session "${jar[@]}"
expect_eq "GET /api/agent/session by cookie gives the CSRF token" "true $csrf" "$(body '"\(.session) \(.csrf_token)"')"
curl -sS -N --max-time 20 "${jar[@]}" "$base/api/agent/monitor/stream" >"$tmp/stream" 2>/dev/null &
stream_pid=$!
for _ in $(seq 100); do grep -q '^event: sample' "$tmp/stream" && break; sleep 0.1; done
check "the live stream works by cookie" grep -q '^event: sample' "$tmp/stream"
kill "$stream_pid" 2>/dev/null; wait "$stream_pid" 2>/dev/null

# ---- CSRF on changes -------------------------------------------------------------------------
post /api/agent/monitor/stop "${jar[@]}"
expect_eq "a change by cookie without the CSRF token: 403" "403 csrf" "$code $(body .error.code)"
post /api/agent/monitor/stop "${jar[@]}" -H "X-CSRF-Token: $(differ "$csrf")"
expect_eq "... with a wrong CSRF token: 403" 403 "$code"
post /api/agent/monitor/stop "${jar[@]}" -H "X-CSRF-Token: $first_cookie"
expect_eq "... with another session's id as CSRF token: 403" 403 "$code"
post /api/agent/monitor/stop "${jar[@]}" -H "X-CSRF-Token: $csrf"
expect_eq "... with the CSRF token: stopped" "200 false" "$code $(body .running)"
post /api/agent/monitor/start "${jar[@]}" -H "X-CSRF-Token: $csrf" -H 'Origin: http://evil.example'
expect_eq "... from another origin, CSRF token or not: 403" "403 cross_origin" "$code $(body .error.code)"
post /api/agent/monitor/start -H "Authorization: Bearer $token"
expect_eq "a bearer token needs no CSRF token" "200 true" "$code $(body .running)"
get /api/agent/monitor/status -H 'Host: evil.example' "${jar[@]}"
expect_eq "a rebound Host name is refused, cookie or not" 421 "$code"

# ---- logout ----------------------------------------------------------------------------------
get /api/agent/session "${jar[@]}" -X DELETE
expect_eq "logout without the CSRF token: 403" 403 "$code"
get /api/agent/session "${jar[@]}" -X DELETE -H "X-CSRF-Token: $csrf"
expect_eq "logout ends the session" "200 true" "$code $(body .ended)"
check "logout clears the cookie" grep -q '^koto_session=; .*Max-Age=0' <<<"$(header Set-Cookie)"
get /api/agent/monitor/status "${jar[@]}"
expect_eq "the ended session's cookie: 401" 401 "$code"
get /monitoring-dashboard "${jar[@]}"
check "... and the login page again" grep -q 'id="login-form"' "$tmp/body"
get /api/agent/monitor/status -H "Cookie: koto_session=$first_cookie"
expect_eq "the other session lives on" 200 "$code"

# ---- a named token logs in with its own scopes ----------------------------------------------------
post /api/agent/tokens -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name": "viewer", "scopes": "read"}'
viewer=$(body .token)
owner=$token token=$viewer
login
token=$owner
expect_eq "a read-only named token logs in" "200 viewer read" "$code $(body .token) $(body .scopes)"
check "the login is logged with the token's name" grep -q "login from 127.0.0.1 with token 'viewer' (read)" "$tmp/kotod.log"
viewer_jar=(-H "Cookie: koto_session=$cookie")
get /api/agent/session "${viewer_jar[@]}"
expect_eq "its session says whose it is" "viewer read" "$(body .token) $(body .scopes)"
get /api/agent/monitor/status "${viewer_jar[@]}"
expect_eq "it reads" 200 "$code"
post /api/agent/monitor/stop "${viewer_jar[@]}" -H "X-CSRF-Token: $csrf"
expect_eq "it may not stop monitoring: 403" "403 insufficient_scope" "$code $(body .error.code)"
post /api/agent/tokens/viewer -X DELETE -H "Authorization: Bearer $token"
expect_eq "the token is revoked" 200 "$code"
get /api/agent/monitor/status "${viewer_jar[@]}"
expect_eq "and its session ends at once" 401 "$code"
check "which is logged" grep -q "session of token 'viewer' ended: the token was revoked" "$tmp/kotod.log"
stop_kotod INT
expect_eq "kotod stops cleanly" 0 "$kotod_rc"

# ---- expiry and the bound on sessions ---------------------------------------------------------------
start "session_lifetime_s = 5" "session_max = 2"
login; c1=$cookie
check "the cookie lasts session_lifetime_s" grep -q 'Max-Age=5$' <<<"$(header Set-Cookie)"
login; c2=$cookie
get /api/agent/monitor/status -H "Cookie: koto_session=$c1"
expect_eq "a fresh session works" 200 "$code"
login; c3=$cookie
get /api/agent/monitor/status -H "Cookie: koto_session=$c1"
expect_eq "past session_max the oldest session ends" 401 "$code"
get /api/agent/monitor/status -H "Cookie: koto_session=$c3"
expect_eq "... and the newest works" 200 "$code"
for _ in $(seq 150); do
  get /api/agent/monitor/status -H "Cookie: koto_session=$c2"
  [ "$code" = 401 ] && break
  sleep 0.1
done
expect_eq "an expired session is refused" 401 "$code"
get /api/agent/session -H "Cookie: koto_session=$c2"
expect_eq "... and is no session" false "$(body .session)"
stop_kotod INT

# ---- kotod -t checks the settings ----------------------------------------------------------------
printf 'session_lifetime_s = 0\n' >"$tmp/bad.conf.lua"
check "kotod -t refuses session_lifetime_s = 0" \
  bash -c '! "$@" -t -c "$0" >/dev/null 2>&1' "$(winpath "$tmp/bad.conf.lua")" "${kotod[@]}"
check "--help-config lists the settings" \
  bash -c '"$@" --help-config | grep -q "^session_lifetime_s .*1\.\.2592000"' _ "${kotod[@]}"
finish
