#!/usr/bin/env bash
# test_replay.sh KOTOD - the stored history judged again: a kotod on the
# fixture tree records readings while memory crosses its threshold twice;
# replay with the same settings finds the events it raised, a lower
# threshold and an added condition find others, bad proposals are 400s, and
# kotod --replay prints the same from the database.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixture="$repo/tests/fixtures/linux-basic"
. "$here/lib.sh"

cp -r "$fixture/t0" "$tmp/proc"
cat >"$tmp/koto.conf.lua" <<'LUA'
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 2 } }
history_raw_hours = 1
LUA
# A token that may only read: enough for a replay, which changes nothing.
token=$("$KOTOD" --state-dir "$tmp/state" --token add viewer --scope read 2>/dev/null)
start_kotod --procfs "$tmp/proc" --sysfs "$fixture/sys" -c "$tmp/koto.conf.lua" \
  --listen 127.0.0.1:0 --interval 200 --state-dir "$tmp/state"
if ! wait_log "dashboard at http://"; then
  not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit
fi
addr=$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
base="http://$addr"
t0=$(($(date +%s%3N) - 1000))
replay() { curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "$1" "$base/api/agent/rules/replay"; }
events() { curl -sS "$base/api/agent/monitor/events?event_type=memory_high"; }
wait_count() { # N: until N memory_high events, or 15 s
  local deadline=$((SECONDS + 15))
  until [ "$(events | jq .count)" -ge "$1" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
}

# 50 % used, then 95 % (starts), back to 50 % (resolves), twice.
sleep 1.5
set_mem_available 800000; wait_count 1; sleep 1
set_mem_available 8000000; wait_count 2; sleep 1
set_mem_available 800000; wait_count 3; sleep 1
set_mem_available 8000000; wait_count 4; sleep 1.5
expect_eq "the live run raised two memory_high conditions" "started resolved started resolved" \
  "$(events | jq -r '[.events[].state | select(. == "started" or . == "resolved")] | join(" ")')"

# The same settings: the same two spans.
replay "{\"from\": $t0}" >"$tmp/same.json"
check "replay answers with the raw tier" jq -e '.tier == "raw" and .step_ms == 200 and .readings > 20' "$tmp/same.json"
expect_eq "same settings: what would fire is what fired" "2 2" \
  "$(jq -r '.summary[] | select(.type == "memory_high") | "\(.would_fire) \(.fired)"' "$tmp/same.json")"
check "and at the same times (within two readings)" jq -e '
  [.would_fire[] | select(.type == "memory_high")] as $w | [.fired[] | select(.type == "memory_high")] as $f
  | [range(0; 2) | (($w[.].start_ms - $f[.].start_ms) | fabs) <= 400 and (($w[.].end_ms - $f[.].end_ms) | fabs) <= 400] | all' "$tmp/same.json"
check "the unknown fields are named" jq -e '.unknown | index("processes.top_cpu") and index("memory.swap_in_pages_ps") and index("filesystems.device")' "$tmp/same.json"
check "time active is the spans' sum" jq -e '
  (.summary[] | select(.type == "memory_high") | .active_ms) as $a
  | ([.would_fire[] | select(.type == "memory_high") | .end_ms - .start_ms] | add) == $a' "$tmp/same.json"

# Further back than the raw tier keeps (an hour here): the minutes.
replay '{"from": "2h"}' >"$tmp/minutes.json"
check "beyond the raw tier's reach, the 1-minute tier" jq -e '.tier == "1m" and .step_ms == 60000 and .readings >= 1' "$tmp/minutes.json"

# A lower threshold: memory is past it all along, one span still active at the end.
replay "{\"from\": $t0, \"thresholds\": {\"memory.threshold\": 40}}" >"$tmp/lower.json"
expect_eq "a lower threshold: one span, still active" "1 null" \
  "$(jq -r '[.would_fire[] | select(.type == "memory_high")] | "\(length) \(.[0].end_ms)"' "$tmp/lower.json")"
replay "{\"from\": $t0, \"thresholds\": {\"thresholds.memory\": {\"threshold\": 40}}}" >"$tmp/lower2.json"
check "the same written as a section" jq -e '[.would_fire[] | select(.type == "memory_high")] | length == 1' "$tmp/lower2.json"

# An added condition: its events appear, with nothing stored beside them.
cond='return { name = \"memory_over_60\", value = function(r) return r.memory.used_pct end, above = 60, hold = 1 }'
replay "{\"from\": $t0, \"conditions\": [{\"name\": \"over60.lua\", \"source\": \"$cond\"}]}" >"$tmp/cond.json"
expect_eq "an added condition would fire at each rise" "2 0" \
  "$(jq -r '.summary[] | select(.type == "memory_over_60") | "\(.would_fire) \(.fired)"' "$tmp/cond.json")"

# A condition over filesystems sees the stored ones, by their mount points
# (a replayed filesystem has no device or type: they are null, not a hole).
cond='return { name = \"fs_any\", each = \"filesystems\", value = function(r, fs) return fs.used_pct end, above = 0, hold = 1 }'
replay "{\"from\": $t0, \"conditions\": [{\"name\": \"fsany.lua\", \"source\": \"$cond\"}]}" >"$tmp/fs.json"
check "a condition over filesystems fires per mount point" jq -e '
  [.would_fire[] | select(.type == "fs_any") | .subject] | length > 0 and all(startswith("/"))' "$tmp/fs.json"
check "and no condition fails on a replayed reading" jq -e '[.summary[] | select(.type == "rule_error")] == []' "$tmp/fs.json"

# Errors: 400 with what is wrong.
code() { curl -sS -o "$tmp/err.json" -w '%{http_code}' -H "Authorization: Bearer $token" -d "$1" "$base/api/agent/rules/replay"; }
expect_eq "a threshold out of bounds is a 400" 400 "$(code '{"thresholds": {"memory.threshold": 400}}')"
check "naming the setting" jq -e '.error.message // .message | test("thresholds.memory.threshold must be")' "$tmp/err.json"
expect_eq "an unknown setting is a 400" 400 "$(code '{"thresholds": {"memory.nonsense": 1}}')"
expect_eq "a broken condition is a 400" 400 "$(code '{"conditions": [{"name": "bad.lua", "source": "return {"}]}')"
check "naming its file:line" jq -e '.error.message // .message | test("conditions/bad.lua:1")' "$tmp/err.json"
expect_eq "a bad range is a 400" 400 "$(code '{"from": "yesterday"}')"
expect_eq "to before from is a 400" 400 "$(code "{\"from\": $t0, \"to\": $((t0 - 5000))}")"
check "a read token was enough" jq -e '.readings > 0' "$tmp/same.json"

# The command line reads the database beside the running kotod. What the
# running one has not flushed yet (up to 8 s of readings) it does not see,
# so it is asked again until the raw readings are on disk.
for _ in $(seq 40); do
  "$KOTOD" --replay --from "$t0" -c "$tmp/koto.conf.lua" --state-dir "$tmp/state" >"$tmp/beside.out" 2>&1
  rc=$?
  [ $rc != 0 ] || ! grep -q '^replay .* 0 readings' "$tmp/beside.out" && break
  sleep 0.5
done
expect_eq "kotod --replay beside a running kotod exits 0" 0 $rc
check "and answers" grep -q '^replay .* readings from the raw tier' "$tmp/beside.out"
check "the running kotod goes on" bash -c "curl -sS '$base/api/agent/monitor/status' | jq -e '.running'"

# Each proposed condition's type lives as long as the process: proposals stop
# before they would take the room a reload needs.
many() { # N: a body proposing 16 conditions named pN_0..pN_15
  jq -nc --arg n "$1" '{from: "1m", conditions: [range(16) | {name: "p\($n)_\(.).lua",
    source: "return { name = \"p\($n)_\(.)\", value = function(r) return 1 end, above = 0 }"}]}'
}
last=""
for n in 1 2 3 4; do last=$(code "$(many $n)"); [ "$last" = 400 ] && break; done
expect_eq "proposals that would fill the event types: 400" 400 "$last"
check "saying why" jq -e '.error.message | test("event types are registered already")' "$tmp/err.json"
check "a replay without new conditions still runs" bash -c "curl -sS -H 'Authorization: Bearer $token' -d '{\"from\": \"1m\"}' '$base/api/agent/rules/replay' | jq -e '.readings > 0'"

stop_kotod TERM

# The command line reads the database the run left.
"$KOTOD" --replay --from "$t0" -c "$tmp/koto.conf.lua" --state-dir "$tmp/state" >"$tmp/cli.out" 2>&1
expect_eq "kotod --replay exits 0" 0 $?
check "it prints the summary line per type" grep -Eq '^memory_high +\(host\) +2 +2 ' "$tmp/cli.out"
check "the raw tier, from the database" grep -q 'readings from the raw tier, 200 ms apart' "$tmp/cli.out"
check "and the spans" grep -q 'would fire (2):' "$tmp/cli.out"
echo 'thresholds = { memory = { threshold = 40 } }' >"$tmp/proposed.conf.lua"
"$KOTOD" --replay --from "$t0" -c "$tmp/proposed.conf.lua" --state-dir "$tmp/state" >"$tmp/cli2.out" 2>&1
check "a proposed file marks what differs" grep -Eq '^memory_high +\(host\) +1 +2 .*differs' "$tmp/cli2.out"
"$KOTOD" --replay --from soon --state-dir "$tmp/state" >"$tmp/cli3.out" 2>&1
expect_eq "a bad --from is a usage error" 2 $?
finish
