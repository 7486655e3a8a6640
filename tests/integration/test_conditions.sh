#!/usr/bin/env bash
# test_conditions.sh KOTOD - conditions written in Lua in the running
# daemon: their events are ordinary events (API, evidence, file:line), a
# reload keeps the state of a condition whose file did not change, and a
# changed one starts afresh; GET /api/agent/conditions says where each stands.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

cp -r "$repo/tests/fixtures/linux-basic/t0" "$tmp/proc"
mkdir -p "$tmp/user/conditions"
cat >"$tmp/user/conditions/mine.lua" <<'LUA'
-- Always past its threshold: the fixture's memory is half used.
return {
  name = "memory_half",
  value = function(r) return r.memory.used_pct end,
  above = 10, hold = 2, severity = { low = 10, medium = 40, high = 99 },
  evidence = "memory",
  message = "memory at {value:.1f}%",
}
LUA
start_kotod --procfs "$tmp/proc" --sysfs "$repo/tests/fixtures/linux-basic/sys" --user-dir "$tmp/user" \
  --listen 127.0.0.1:0 --interval 100 --state-dir "$tmp/state"
if ! wait_log "dashboard at http://"; then
  not_ok "kotod starts with a user condition" "$(cat "$tmp/kotod.log")"; finish; exit
fi
addr=$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
base="http://$addr"
events() { curl -sS "$base/api/agent/monitor/events?event_type=memory_half"; }
wait_events() { # N: until the log holds N memory_half events, or 10 s
  local deadline=$((SECONDS + 10))
  until [ "$(events | jq .count)" -ge "$1" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
}
samples() { curl -sS "$base/api/agent/monitor/status" | jq .health.samples; }
cond() { curl -sS "$base/api/agent/conditions" | jq -c ".conditions[] | select(.name == \"$1\")"; }
wait_samples() { # N more readings
  local want=$(($(samples) + $1)) deadline=$((SECONDS + 10))
  until [ "$(samples)" -ge "$want" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
}

wait_events 1
events >"$tmp/ev.json"
expect_eq "the condition raised an ordinary event" "memory_half started medium" \
  "$(jq -r '.events[0] | "\(.type) \(.state) \(.severity)"' "$tmp/ev.json")"
check "its message is the condition's, formatted" jq -e '.events[0].message | test("^memory at [0-9]+\\.[0-9]%$")' "$tmp/ev.json"
check "it names the condition's file:line" jq -e '.events[0].source | endswith("user/conditions/mine.lua:4")' "$tmp/ev.json"
check "with the top processes as evidence" jq -e '.events[0].top_processes | length > 0' "$tmp/ev.json"
check "the health summary counts it as active" bash -c "curl -sS '$base/api/agent/monitor/status' | jq -e '[.health.active[]? | select(.type == \"memory_half\")] | length == 1'"
check "and /metrics by its type" bash -c "curl -sS '$base/metrics' | grep -q 'koto_active_conditions{type=\"memory_half\"} 1'"
cond memory_half >"$tmp/cond.json"
check "the conditions API: its file:line and bands" jq -e '(.source | endswith("user/conditions/mine.lua:4"))
  and .above == 10 and .clear_below == 10 and .hold == 2 and .severity == {low: 10, medium: 40, high: 99}
  and .enabled and .error == null' "$tmp/cond.json"
check "and its one subject, active at medium since the event" jq -e --argjson t "$(jq '.events[0].time' "$tmp/ev.json")" \
  '.subjects | length == 1 and .[0].subject == "" and .[0].state == "active" and .[0].severity == "medium"
   and .[0].since_ms == $t and .[0].value > 10' "$tmp/cond.json"

# A reload that leaves the file alone keeps the condition as it was.
kill -HUP "$kotod_pid"
wait_log "reloaded" >/dev/null
wait_samples 3
expect_eq "reload, unchanged: no second start, no resolution" 1 "$(events | jq .count)"
check "and the API still has it active" bash -c "curl -sS '$base/api/agent/conditions' | jq -e '.conditions[] | select(.name == \"memory_half\") | .subjects[0].state == \"active\"'"

# A changed file is a new definition: the old one ends, the new one starts.
sed -i 's/memory at/memory now at/' "$tmp/user/conditions/mine.lua"
: >"$tmp/kotod.log"
kill -HUP "$kotod_pid"
wait_log "reloaded" >/dev/null
wait_events 3
events >"$tmp/ev.json"
expect_eq "reload, changed: resolved then started" "resolved started" \
  "$(jq -r '[.events[1:][] | .state] | join(" ")' "$tmp/ev.json")"
check "the new message" jq -e '.events[2].message | startswith("memory now at")' "$tmp/ev.json"

# A condition that breaks after a reload: a rule_error event naming file:line,
# and the daemon goes on.
cat >"$tmp/user/conditions/broken.lua" <<'LUA'
return { name = "broken_one", above = 1,
  value = function(r) return r.nothing.here end }
LUA
kill -HUP "$kotod_pid"
deadline=$((SECONDS + 10))
until curl -sS "$base/api/agent/monitor/events?event_type=rule_error" | jq -e '.count > 0' >/dev/null ||
  [ $SECONDS -ge $deadline ]; do sleep 0.05; done
curl -sS "$base/api/agent/monitor/events?event_type=rule_error" >"$tmp/err.json"
check "rule_error names file:line" jq -e '.events[0].subject | endswith("conditions/broken.lua:2")' "$tmp/err.json"
check "and says why" jq -e '.events[0].message | test("broken_one switched off: .*attempt to index")' "$tmp/err.json"
cond broken_one >"$tmp/cond.json"
check "the conditions API has it switched off, with the rule_error message" jq -e '.enabled == false
  and (.error | test("broken_one switched off: .*conditions/broken.lua:2: attempt to index")) and .subjects == []
  and (.source | endswith("conditions/broken.lua:2"))' "$tmp/cond.json"
n=$(events | jq .count)
wait_samples 3
expect_eq "the other condition goes on undisturbed" "$n" "$(events | jq .count)"
check "kotod still serves" curl -sSf -o /dev/null "$base/api/agent/monitor/status"
stop_kotod TERM
finish
