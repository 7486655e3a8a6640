#!/usr/bin/env bash
# kotod.exe as a real Windows service under Wine, driven from Linux:
# install (the settings given with --install reach the service), start with
# `sc` and with --control, curl the API, reload (PARAMCHANGE, which Wine's sc
# lacks), a start that fails on a broken configuration, stop (also with an idle
# keep-alive connection open: the listener must not hold up the stop),
# uninstall. Runs inside scripts/win-test.sh, which provides WINEPREFIX and a
# persistent wineserver.
#   Usage: test_service.sh KOTOD_EXE SOURCE_DIR WEB_DIR
set -euo pipefail
EXE="$1" SRC="$2" WEB="$3"
: "${WINEPREFIX:?run through scripts/win-test.sh (it sets up Wine)}"

DIR="$WINEPREFIX/drive_c/koto-e2e"   # C:\koto-e2e
WIN='C:\koto-e2e'
LOG="$DIR/state/kotod.log"
fail() { echo "FAIL: $*" >&2; [ -f "$LOG" ] && sed 's/^/  log: /' "$LOG" >&2; exit 1; }
ok() { echo "ok: $*"; }
kotod() { wine "$WIN\\kotod.exe" "$@" 2>&1 | tr -d '\r'; }

# Polls (up to 20 s) until the command succeeds.
wait_for() {
  local what="$1"; shift
  for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "timed out waiting for $what"
}
log_has() { grep -q -- "$1" "$LOG" 2>/dev/null; }
address() { sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$LOG" 2>/dev/null | tail -1; }
state() { kotod --control status | sed -n 's/^kotod service: \([a-z ]*\) (.*/\1/p'; }
is_state() { [ "$(state)" = "$1" ]; }
# Bodies are read whole before grep -q looks: its early exit would break
# curl's pipe, and pipefail would count that as a failure.
has_reading() { local b; b=$(curl -fsS "http://$addr/api/agent/monitor/status") && grep -q '"memory"' <<<"$b"; }

cleanup() {
  kotod --uninstall >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
cleanup
mkdir -p "$DIR"
cp "$EXE" "$DIR/kotod.exe"
cp -r "$SRC/lua" "$DIR/lua"
cp -r "$WEB" "$DIR/web"

# ---- install -------------------------------------------------------------------
out="$(kotod --install --start-type demand --listen 127.0.0.1:0 --state-dir "$WIN\\state" \
        --interval 200)" || fail "--install: $out"
echo "$out" | grep -q "installed the service kotod" || fail "--install said: $out"
image="$(wine reg query 'HKLM\System\CurrentControlSet\Services\kotod' /v ImagePath 2>/dev/null | tr -d '\r')"
echo "$image" | grep -q -- '--listen 127.0.0.1:0' || fail "ImagePath lacks --listen: $image"
echo "$image" | grep -q -- '--state-dir C:\\koto-e2e\\state' || fail "ImagePath lacks --state-dir: $image"
out="$(kotod --install 2>&1)" && fail "a second --install succeeded"
echo "$out" | grep -q "uninstall first" || fail "second --install said: $out"
ok "installed; the service's command line carries the settings"

# ---- start with sc, serve --------------------------------------------------------
wine sc start kotod >/dev/null 2>&1 || true
wait_for "the service to be running" is_state running
addr="$(address)"
[ -n "$addr" ] || fail "no listen address in the log"
# RUNNING is reported only once the listener is bound: the first curl answers.
health="$(curl -fsS "http://$addr/healthz")" || fail "healthz on $addr"
echo "$health" | grep -q '"ok"' || fail "healthz said $health"
wait_for "a first reading" has_reading
status="$(curl -fsS "http://$addr/api/agent/monitor/status")"
echo "$status" | grep -q '"cpu"' || fail "status has no cpu: ${status:0:300}"
ok "sc start: RUNNING, $addr answers healthz and status"

http_code() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "http://$addr$1"; }
page=$(curl -fsS "http://$addr/monitoring-dashboard") && grep -q '<html' <<<"$page" || fail "dashboard page"
for f in app.js koto.css vendor/uPlot.iife.min.js; do
  [ "$(http_code "/monitoring-dashboard/$f")" = 200 ] || fail "dashboard file $f"
done
# shellcheck disable=SC2016 # '::$DATA' is the stream's literal name
for bad in '..%5ckotod.exe' '..%5cstate%5ctoken' '%2e%2e/kotod.exe' '..%2fkotod.exe' 'con' \
           'NUL.txt' 'index.html::$DATA' 'C:%5ckoto-e2e%5ckotod.exe'; do
  code="$(http_code "/monitoring-dashboard/$bad")"
  [ "$code" = 404 ] || [ "$code" = 400 ] || fail "/monitoring-dashboard/$bad gave $code"
done
ok "the dashboard is served from web\\; escapes, device names and streams are refused"

token="$(tr -d '\r\n' < "$DIR/state/token")"
[ ${#token} -eq 64 ] || fail "token file holds '${token}'"
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$addr/api/agent/monitor/clear")"
[ "$code" = 401 ] || fail "clear without the token gave $code"
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
        "http://$addr/api/agent/monitor/clear")"
[ "$code" = 200 ] || fail "clear with the token gave $code"
script="$(curl -fsS -X POST -H 'Content-Type: application/json' \
          -d '{"issue_type":"disk_full"}' "http://$addr/api/agent/generate-script")" ||
  fail "generate-script"
echo "$script" | grep -q '"script_type": *"powershell"' ||
  fail "the default script on Windows is not PowerShell: ${script:0:200}"
tool="$(curl -fsS -X POST -H 'Content-Type: application/json' -d '{}' \
        "http://$addr/api/agent/tools/get_script_type")" || fail "get_script_type"
echo "$tool" | grep -q '"script_type": *"powershell"' || fail "get_script_type said: $tool"
ok "token from %ProgramData%-style state dir; scripts default to PowerShell"

# ---- reload (PARAMCHANGE) ---------------------------------------------------------
kotod --control reload >/dev/null || fail "--control reload"
wait_for "the reload in the log" log_has "reloaded:"
curl -fsS "http://$addr/healthz" >/dev/null || fail "healthz after reload"
ok "--control reload: PARAMCHANGE reloaded the rules, still serving"

cp "$DIR/lua/koto.conf.lua" "$DIR/koto.conf.lua.good"
echo 'cpu_percent = ' >> "$DIR/lua/koto.conf.lua"
kotod --control reload >/dev/null || fail "--control reload (broken)"
wait_for "the refused reload in the log" log_has "reload refused"
grep "reload refused" "$LOG" | grep -q 'koto.conf.lua:[0-9]' || fail "the refusal names no file:line"
curl -fsS "http://$addr/api/agent/monitor/status" >/dev/null || fail "status after a refused reload"
cp "$DIR/koto.conf.lua.good" "$DIR/lua/koto.conf.lua"
ok "a broken configuration on reload is refused with file:line; the old rules keep serving"

# ---- stop with an idle keep-alive connection open ----------------------------------
exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}"   # connected, never sends a request
t0=$SECONDS
out="$(kotod --control stop)" || fail "--control stop: $out"
echo "$out" | grep -q "stopped" || fail "--control stop said: $out"
(( SECONDS - t0 <= 8 )) || fail "stop took $((SECONDS - t0)) s (wait hint 8 s)"
exec 3>&-
log_has "stop requested" || fail "no stop in the log"
log_has "stopped" || fail "the daemon did not log its stop"
curl -s "http://$addr/healthz" >/dev/null && fail "still answering after stop"
ok "--control stop in $((SECONDS - t0)) s with an idle connection open"

# ---- a broken configuration: the start fails, with the reason -----------------------
echo 'cpu_percent = ' >> "$DIR/lua/koto.conf.lua"
out="$(kotod --control start)" && fail "started with a broken configuration"
echo "$out" | grep -q "stopped while starting" || fail "--control start said: $out"
[ "$(state)" = stopped ] || fail "state after a failed start: $(state)"
grep -q 'koto.conf.lua:[0-9]' "$LOG" || fail "the log does not name file:line"
cp "$DIR/koto.conf.lua.good" "$DIR/lua/koto.conf.lua"
ok "a broken configuration stops the start, and the log names file:line"

# ---- start with --control, stop with sc -------------------------------------------
: > "$LOG"
kotod --control start | grep -q running || fail "--control start"
addr="$(address)"
curl -fsS "http://$addr/healthz" >/dev/null || fail "healthz after --control start"
wine sc stop kotod >/dev/null 2>&1 || true
wait_for "the service to stop" is_state stopped
ok "--control start and sc stop"

# ---- uninstall ---------------------------------------------------------------------
kotod --uninstall | grep -q "removed" || fail "--uninstall"
out="$(kotod --control status 2>&1)" && fail "status after uninstall succeeded: $out"
echo "$out" | grep -q "kotod --install" || fail "status after uninstall said: $out"
ok "uninstalled"
