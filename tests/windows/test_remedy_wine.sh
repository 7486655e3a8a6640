#!/usr/bin/env bash
# kotod.exe's remediation chain under Wine, driven from Linux with curl and
# jq: a process check by pidfile finds nothing running -> process_down -> a
# proposal whose dry run (-WhatIf) starts nothing -> an approval that must
# carry the script's SHA-256 -> the run starts the process -> the check sees
# it and process_down resolves -> the audit holds every step, "verified" by
# the readings. Wine has no PowerShell, so remedy_interpreter names the
# stand-in (standin.c), which kt_sys_run starts exactly as it would start
# powershell.exe. Runs inside scripts/win-test.sh (WINEPREFIX, wineserver).
#   Usage: test_remedy_wine.sh KOTOD_EXE SOURCE_DIR WEB_DIR STANDIN_EXE
set -uo pipefail
EXE="$1" SRC="$(cd "$2" && pwd)" WEB="$(cd "$3" && pwd)" STANDIN="$4"
: "${WINEPREFIX:?run through scripts/win-test.sh (it sets up Wine)}"

DIR="$WINEPREFIX/drive_c/koto-remedy" # C:\koto-remedy
WIN='C:\koto-remedy'
LOG="$DIR/kotod.log"
winpath() { local p="${1//\//\\}"; echo "Z:$p"; }
fail() { echo "FAIL: $*" >&2; [ -f "$LOG" ] && tr -d '\r' <"$LOG" | sed 's/^/  log: /' | tail -40 >&2; exit 1; }
ok() { echo "ok: $*"; }

pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  # The stand-in the run started sleeps for minutes: end it by its Windows pid.
  [ -f "$DIR/standin.pid" ] && wine taskkill /F /PID "$(tr -d '\r\n ' <"$DIR/standin.pid")" >/dev/null 2>&1
  rm -rf "$DIR"
}
trap cleanup EXIT
rm -rf "$DIR"
mkdir -p "$DIR/user/templates"

# The template: stand-in commands, the start behind "real" so that the dry
# run only says what it would do.
cat >"$DIR/user/templates/standin_win.lua" <<'LUA'
local description = "Start the stand-in service of the Windows remediation test again."
return {
  description = description,
  params = {},
  powershell = function()
    return "echo starting the stand-in\r\nreal spawn C:\\koto-remedy\\standin.pid\r\nreal echo started\r\n"
  end,
}
LUA
cat >"$DIR/koto.conf.lua" <<LUA
thresholds = { cpu = { enabled = false }, cpu_spike = { enabled = false },
               memory = { enabled = false }, disk = { enabled = false },
               process_memory = { enabled = false } }
user_dir = [[$WIN\\user]]
scripts_dir = [[$WIN\\scripts]]
remedy_interpreter = [[$(winpath "$STANDIN")]]
remedy_verify_readings = 5
checks = { { name = "standin", pidfile = [[$WIN\\standin.pid]], min = 1 } }
remediate = { { event = "process_down", subject = "standin", template = "standin_win" } }
LUA

: >"$LOG"
wine "$EXE" --foreground -c "$WIN\\koto.conf.lua" --listen 127.0.0.1:0 \
  --lua-dir "$(winpath "$SRC/lua")" --web-dir "$(winpath "$WEB")" --state-dir "$WIN\\state" \
  --interval 200 </dev/null >"$LOG" 2>&1 &
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
token="$(tr -d '\r\n' <"$DIR/state/token")"
api() { curl -sS -m 30 -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+-d "$3"} "$base$2"; }
events() { curl -sS -m 10 "$base/api/agent/monitor/events?limit=1000"; }
wait_events() { # JQ: until the event log satisfies it (30 s: Wine is slow to start processes)
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    events | jq -e "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

wait_events '[.events[] | select(.type == "process_down" and .state == "started")] | length == 1' ||
  fail "nothing runs: process_down ($(events | jq -c .events))"
ok "nothing runs: process_down"
ev=$(events | jq '[.events[] | select(.type == "process_down")][0].id')

p=$(api POST /api/agent/remediations "{\"event_id\":$ev}")
id=$(jq -r .id <<<"$p")
[ "$(jq -r .template <<<"$p")" = standin_win ] || fail "the proposal uses the configured template: $p"
ok "the proposal uses the configured template"
dry=$(jq -r '.dry_run.output' <<<"$p" | tr -d '\r')
[ "$dry" = "$(printf 'starting the stand-in\nwould spawn C:\\koto-remedy\\standin.pid\nwould echo started')" ] ||
  fail "the dry run ran with -WhatIf through the interpreter: [$dry]"
ok "the dry run ran with -WhatIf through the interpreter"
[ ! -e "$DIR/standin.pid" ] || fail "the dry run started nothing"
ok "the dry run started nothing"

code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"sha256":"0000"}' "$base/api/agent/remediations/$id/approve")
[ "$code" -ge 400 ] && [ "$code" -lt 500 ] || fail "an approval with the wrong SHA-256 is refused (got $code)"
[ ! -e "$DIR/standin.pid" ] || fail "a refused approval runs nothing"
ok "an approval with the wrong SHA-256 is refused, and runs nothing"

api POST "/api/agent/remediations/$id/approve" "{\"sha256\":\"$(jq -r .sha256 <<<"$p")\"}" >/dev/null
wait_events '[.events[] | select(.type == "process_down" and .state == "resolved")] | length == 1' ||
  fail "the run starts the stand-in and process_down resolves ($(events | jq -c .events))"
ok "the run starts the stand-in and process_down resolves"

want="proposed dry_run approval_refused approved run_started run_ended verified"
audit=""
for _ in $(seq 150); do
  audit=$(api GET '/api/agent/audit?limit=1000' |
    jq -r --argjson id "$id" '[.audit[] | select(.remediation_id == $id) | .action] | join(" ")')
  [ "$audit" = "$want" ] && break
  sleep 0.2
done
[ "$audit" = "$want" ] || fail "the audit has every step, the refusal too, verified by the readings: [$audit]"
ok "the audit has every step, the refusal too, verified by the readings"
out=$(api GET "/api/agent/remediations/$id" | jq -r '.run.output // .output // empty' | tr -d '\r')
grep -q '^started$' <<<"$out" || fail "the run's output is kept: [$out]"
ok "the run's output is kept"
echo "all passed"
