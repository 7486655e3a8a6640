#!/usr/bin/env bash
# test_remedy_chain.sh KOTOD - the whole chain on the live machine: a
# stand-in service (a copy of sleep the test starts and kills) watched by a
# process check.
#   - by hand: it dies -> process_down -> proposal -> approval -> the run
#     starts it again -> resolved; the audit has every step and "verified";
#   - auto = true: proposed and approved by the configuration, twice; the
#     third death trips the circuit breaker (remediation_gave_up) and it
#     stays down;
#   - a fix that does not fix: remediation_failed after the next readings;
#   - hostile process names (quotes, $(), backticks, ;, newlines) reach a
#     script only as a quoted parameter: it prints them, runs nothing else.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

name="kts$$"
cp /bin/sleep "$tmp/$name"
# A zombie is not running: where nothing reaps orphans (a container whose
# pid 1 is not an init), a killed stand-in stays listed as Z.
standin_pids() { ps -eo pid=,stat=,comm= | awk -v n="$name" '$3 == n && $2 !~ /^[ZX]/ { print $1 }'; }
cleanup_standins() { pkill -KILL -x "$name" 2>/dev/null || true; }
trap 'cleanup_standins; kill_kotod; rm -rf "$tmp"' EXIT
start_standin() { setsid "$tmp/$name" 1000 </dev/null >/dev/null 2>&1 & }

conf() { # conf REMEDIATE_ENTRIES [EXTRA]
  cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { cpu = { enabled = false }, cpu_spike = { enabled = false },
               memory = { enabled = false }, disk = { enabled = false },
               process_memory = { enabled = false } }
scripts_dir = "$tmp/scripts"
user_dir = "$here/remedy"
remedy_verify_readings = 10
checks = { { name = "standin", process = "$name", min = 1 } }
remediate = { $1 }
${2:-}
LUA
}
state="$tmp/state"
run() { start_kotod -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --interval 200 --state-dir "$state"; }
started() {
  wait_log "dashboard at http://" 15 || return 1
  base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
  token=$(cat "$state/token")
}
api() { curl -sS -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+-d "$3"} "$base$2"; }
events() { curl -sS "$base/api/agent/monitor/events?limit=1000"; }
# wait_events JQ [SECONDS]: until the event log satisfies JQ
wait_events() {
  local deadline=$((SECONDS + ${2:-15}))
  while [ $SECONDS -lt $deadline ]; do
    events | jq -e "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
count_events() { events | jq "[.events[] | select($1)] | length"; }
wait_standin() { # until N stand-ins run
  local deadline=$((SECONDS + 15))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(standin_pids | wc -l)" -eq "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
audit_for() {
  api GET '/api/agent/audit?limit=1000' | jq -r --argjson id "$1" '[.audit[] | select(.remediation_id == $id) | .action] | join(" ")'
}

# ---- by hand ----------------------------------------------------------------------------
start_standin
conf "{ event = \"process_down\", subject = \"standin\", template = \"standin_start\",
        params = { binary = \"$tmp/$name\" } }"
run
started || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
sleep 1 # five readings with the stand-in running
expect_eq "no process_down while it runs" 0 "$(count_events '.type == "process_down"')"
cleanup_standins
if wait_events '[.events[] | select(.type == "process_down" and .state == "started")] | length == 1'; then
  ok "the stand-in dies: process_down"
else not_ok "the stand-in dies: process_down" "$(events | jq -c .events)"; fi
ev=$(events | jq -c '[.events[] | select(.type == "process_down")][0]')
expect_eq "its subject is the check, its message says what is missing" \
  "standin yes" "$(jq -r .subject <<<"$ev") $(jq -r .message <<<"$ev" | grep -q "no process named $name runs" && echo yes)"
p=$(api POST /api/agent/remediations "{\"event_id\":$(jq .id <<<"$ev")}")
id=$(jq -r .id <<<"$p")
expect_eq "the proposal uses the configured template and parameters" \
  "standin_start $tmp/$name would start $tmp/$name" \
  "$(jq -r '"\(.template) \(.params.binary) \(.dry_run.output | rtrimstr("\n"))"' <<<"$p")"
expect_eq "the dry run started nothing" 0 "$(standin_pids | wc -l)"
api POST "/api/agent/remediations/$id/approve" "{\"sha256\":\"$(jq -r .sha256 <<<"$p")\"}" >/dev/null
if wait_standin 1; then ok "the run starts the stand-in again"; else not_ok "the run starts the stand-in again"; fi
if wait_events '[.events[] | select(.type == "process_down" and .state == "resolved")] | length == 1'; then
  ok "process_down resolves"
else not_ok "process_down resolves" "$(events | jq -c .events)"; fi
deadline=$((SECONDS + 10))
until [ "$(audit_for "$id")" = "proposed dry_run approved run_started run_ended verified" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "the audit has it all, verified by the readings" \
  "proposed dry_run approved run_started run_ended verified" "$(audit_for "$id")"
stop_kotod TERM

# ---- automatic, and the circuit breaker ---------------------------------------------------
conf "{ event = \"process_down\", subject = \"standin\", template = \"standin_start\",
        params = { binary = \"$tmp/$name\" }, auto = true, max_runs = 2, window_s = 600 }"
run
started || { not_ok "kotod starts (auto)" "$(cat "$tmp/kotod.log")"; finish; exit; }
for round in 1 2; do
  before=$(count_events '.type == "process_down" and .state == "resolved"')
  cleanup_standins
  if wait_standin 1; then ok "death $round: restarted by the configuration"; else not_ok "death $round: restarted by the configuration" "$(tail -5 "$tmp/kotod.log")"; fi
  wait_events "[.events[] | select(.type == \"process_down\" and .state == \"resolved\")] | length == $((before + 1))" ||
    not_ok "death $round: resolved" "$(events | jq -c .events)"
done
expect_eq "both approved by the configuration, in the audit" "configuration 2" \
  "$(api GET '/api/agent/audit?limit=1000' | jq -r '"\([.audit[] | select(.action == "auto_approved") | .who] | unique | join(" ")) \([.audit[] | select(.action == "auto_approved")] | length)"')"
cleanup_standins
if wait_events '[.events[] | select(.type == "remediation_gave_up")] | length == 1'; then
  ok "the third death trips the breaker: remediation_gave_up"
else not_ok "the third death trips the breaker: remediation_gave_up" "$(events | jq -c .events)"; fi
sleep 1
left=$(standin_pids | wc -l)
expect_eq "and the stand-in stays down" 0 "$left"
[ "$left" = 0 ] || ps -o pid,ppid,stat,lstart,comm -p "$(standin_pids | paste -sd,)" # which one, for the log
check "the audit says it gave up" bash -c "curl -sS -H 'Authorization: Bearer $token' '$base/api/agent/audit?limit=1000' | jq -e '[.audit[] | select(.action == \"auto_gave_up\")] | length >= 1'"
stop_kotod TERM

# ---- a fix that does not fix ------------------------------------------------------------
conf "{ event = \"process_down\", subject = \"standin\", template = \"standin_start\",
        params = { binary = \"/bin/true\" }, auto = true }" "remedy_verify_readings = 3"
start_standin
run
started || { not_ok "kotod starts (no fix)" "$(cat "$tmp/kotod.log")"; finish; exit; }
wait_events '[.events[] | select(.type == "process_down" and .state == "resolved")] | length >= 3' ||
  not_ok "the condition left by the breaker resolves once the stand-in runs" "$(events | jq -c .events)"
cleanup_standins
if wait_events '[.events[] | select(.type == "remediation_failed")] | length >= 1'; then
  ok "a run that does not bring it back: remediation_failed"
else not_ok "a run that does not bring it back: remediation_failed" "$(events | jq -c .events)"; fi
check "the audit says verify_failed" bash -c "curl -sS -H 'Authorization: Bearer $token' '$base/api/agent/audit?limit=1000' | jq -e '[.audit[] | select(.action == \"verify_failed\")] | length >= 1'"
stop_kotod TERM

# ---- hostile process names ------------------------------------------------------------------
# Each runs as a process of that name; a check wants at most one process of
# it, two run, and the fix prints the name taken from the event's evidence.
hostile=("a'b" 'x$(touch HOSTILE)' 'y`touch HOSTILE`' 'z;touch HOSTILE' $'n\ntouch HOSTILE' 'q"$HOME"')
work="$tmp/work"
mkdir -p "$work"
checks="" rules=""
for i in "${!hostile[@]}"; do
  h=${hostile[$i]}
  mkdir -p "$tmp/h$i"
  cp /bin/sleep "$tmp/h$i/$h"
  (cd "$work" && setsid "$tmp/h$i/$h" 1000 </dev/null >/dev/null 2>&1 &)
  (cd "$work" && setsid "$tmp/h$i/$h" 1000 </dev/null >/dev/null 2>&1 &)
  lua=$(printf '%s' "$h" | jq -Rs .) # a JSON string is a Lua string here
  checks+="{ name = \"h$i\", process = $lua, min = 1, max = 1 },"
  rules+="{ event = \"process_count\", subject = \"h$i\", template = \"echo_name\", params = { name = \"{process}\" }, auto = true },"
done
cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { cpu = { enabled = false }, cpu_spike = { enabled = false },
               memory = { enabled = false }, disk = { enabled = false },
               process_memory = { enabled = false } }
scripts_dir = "$tmp/scripts"
user_dir = "$here/remedy"
checks = { $checks }
remediate = { $rules }
LUA
run
started || { not_ok "kotod starts (hostile)" "$(cat "$tmp/kotod.log")"; finish; exit; }
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ]; do
  n=$(api GET '/api/agent/remediations?limit=100' | jq '[.remediations[] | select((.subject | startswith("h")) and (.state == "succeeded" or .state == "failed"))] | length')
  [ "$n" -ge "${#hostile[@]}" ] && break
  sleep 0.2
done
list=$(api GET '/api/agent/remediations?limit=100')
expect_eq "every hostile name got its fix, and each ran" "${#hostile[@]}" \
  "$(jq '[.remediations[] | select((.subject | startswith("h")) and .state == "succeeded")] | length' <<<"$list")"
for i in "${!hostile[@]}"; do
  h=${hostile[$i]}
  want="name=[${h:0:15}]"
  got=$(jq -r --arg s "h$i" '[.remediations[] | select(.subject == $s)][0].run.output' <<<"$list")
  expect_eq "the name $(printf '%q' "$h") came out as data" "$want" "${got%$'\n'}"
done
check "nothing in the names ran (no HOSTILE file anywhere)" bash -c "! ls '$work' '$state' '$tmp/scripts' / 2>/dev/null | grep -q HOSTILE"
for i in "${!hostile[@]}"; do pkill -KILL -f "$tmp/h$i/" 2>/dev/null || true; done
stop_kotod TERM

# ---- service checks: configuration -------------------------------------------------------
# (this machine may have no systemd running: the state is then unknown and
# raises nothing; the parser of systemctl's answers is tests/platform/test_run)
cat >"$tmp/svc.conf.lua" <<'LUA'
checks = { { name = "cron", kind = "service", unit = "cron.service" } }
LUA
check "a service check is a valid configuration" "$KOTOD" -t -c "$tmp/svc.conf.lua" --state-dir "$tmp/state-t"
cat >"$tmp/svc-bad.conf.lua" <<'LUA'
checks = {
  { name = "cron", kind = "service", unit = "cron;reboot" } }
LUA
"$KOTOD" -t -c "$tmp/svc-bad.conf.lua" --state-dir "$tmp/state-t" >"$tmp/t.out" 2>&1
check "a unit name with a ';' is refused, naming the file" grep -q "svc-bad.conf.lua.*unit 'cron;reboot' has a character" "$tmp/t.out"
cat >"$tmp/svc-typo.conf.lua" <<'LUA'
checks = { { name = "web", procss = "nginx" } }
LUA
"$KOTOD" -t -c "$tmp/svc-typo.conf.lua" --state-dir "$tmp/state-t" >"$tmp/t.out" 2>&1
check "a misspelt field is refused with file:line" grep -q "svc-typo.conf.lua:1: checks\[1\]: unknown field 'procss'" "$tmp/t.out"
finish
