#!/usr/bin/env bash
# test_rules_cli.sh KOTOD - kotod --test-rules: recorded or written readings
# through the thresholds and the rules, before a person reloads a change.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
snap=$repo/tests/fixtures/snapshots

"$KOTOD" --test-rules "$snap/runaway_process.json" >"$tmp/out" 2>&1; rc=$?
expect_eq "a rule's own snapshot: exit 0" 0 "$rc"
check "it reports that rule's finding" grep -q "finding process/.* runaway_process" "$tmp/out"
check "with the rule's file and line" grep -q "at .*lua/rules/process.lua:[0-9]" "$tmp/out"

"$KOTOD" --test-rules "$snap/quiet.json" >"$tmp/out" 2>&1
check "a quiet snapshot: no finding" grep -q "1 readings: 0 events, 0 findings, 0 rule errors" "$tmp/out"

# Three readings at 95 % memory then one at 50 %: hold-down, then the margin.
cat >"$tmp/seq.json" <<'JSON'
[{"memory": {"used_pct": 95, "total_bytes": 17179869184, "available_bytes": 858993459}},
 {"memory": {"used_pct": 95, "total_bytes": 17179869184, "available_bytes": 858993459}},
 {"memory": {"used_pct": 95, "total_bytes": 17179869184, "available_bytes": 858993459}},
 {"memory": {"used_pct": 50, "total_bytes": 17179869184, "available_bytes": 8589934592}}]
JSON
"$KOTOD" --test-rules "$tmp/seq.json" >"$tmp/out" 2>&1
check "events follow the thresholds" grep -q "event memory_high started (medium)" "$tmp/out"
check "and resolve" grep -q "event memory_high resolved" "$tmp/out"
expect_eq "one start, one end: no storm" 2 "$(grep -c 'event memory_high' "$tmp/out")"
expect_eq "the start waits for the hold-down" "reading 2" "$(grep -B1 'memory_high started' "$tmp/out" | head -1)"

# A configuration change is tried before it is reloaded.
printf 'thresholds = { memory = { threshold = 40, hold_samples = 1 } }\n' >"$tmp/conf.lua"
"$KOTOD" --test-rules "$tmp/seq.json" -c "$tmp/conf.lua" >"$tmp/out" 2>&1
expect_eq "with -c: the new threshold" "reading 1" "$(grep -B1 'memory_high started' "$tmp/out" | head -1)"

# A rule that breaks is reported, and the exit status says so.
mkdir -p "$tmp/user/rules"
cat >"$tmp/user/rules/broken.lua" <<'LUA'
return {
  { name = "broken", category = "cpu", description = "fails",
    check = function(s) return s.cpu.nonexistent.field end },
}
LUA
"$KOTOD" --test-rules "$snap/quiet.json" --user-dir "$tmp/user" >"$tmp/out" 2>&1; rc=$?
expect_eq "a failing rule: exit 1" 1 "$rc"
check "named with file and line" grep -q "RULE ERROR.*broken.lua:3" "$tmp/out"

"$KOTOD" --test-rules "$tmp/nope.json" >"$tmp/out" 2>&1; rc=$?
expect_eq "a missing file: exit 1" 1 "$rc"
printf '[{"memory": }]' >"$tmp/bad.json"
"$KOTOD" --test-rules "$tmp/bad.json" >"$tmp/out" 2>&1; rc=$?
expect_eq "malformed JSON: exit 1" 1 "$rc"
check "with line and column" grep -q "bad.json:1:" "$tmp/out"
# ---- conditions in Lua, with expectations ----------------------------------------------
mkdir -p "$tmp/cu/conditions"
cat >"$tmp/cu/conditions/fd.lua" <<'LUA'
return {
  { name = "nginx_rss_high", each = "processes", match = "^nginx",
    value = function(r, p) return p.rss_bytes / 1048576 end,
    above = 100, hold = 1, severity = "high", evidence = "memory",
    message = "{subject} uses {value:.0f} MiB" },
}
LUA
cat >"$tmp/cases.json" <<'JSON'
{"cases": [{"name": "per process", "steps": [
  {"reading": {"processes": {"all": [
     {"pid": 10, "name": "nginx", "rss_bytes": 209715200},
     {"pid": 11, "name": "nginx", "rss_bytes": 1048576},
     {"pid": 12, "name": "java", "rss_bytes": 4294967296}]}},
   "exp_events": [{"type": "nginx_rss_high", "subject": "nginx (pid 10)", "severity": "high"}]},
  {"reading": {"processes": {"all": [{"pid": 11, "name": "nginx", "rss_bytes": 1048576}]}},
   "exp_events": [{"type": "nginx_rss_high", "subject": "nginx (pid 10)", "state": "resolved"}]}]}]}
JSON
"$KOTOD" --test-rules "$tmp/cases.json" --user-dir "$tmp/cu" >"$tmp/out" 2>&1; rc=$?
expect_eq "a process condition meets its expectations: exit 0" 0 "$rc"
check "one subject per matching process" grep -q "event nginx_rss_high started (high) on nginx (pid 10): nginx (pid 10) uses 200 MiB" "$tmp/out"
check "the cases' summary" grep -q "1 cases, 2 readings: 2 events, .* 0 steps failed" "$tmp/out"

# An expectation that is not met: a diff, and exit 1.
sed 's/"severity": "high"/"severity": "low"/' "$tmp/cases.json" >"$tmp/wrong.json"
"$KOTOD" --test-rules "$tmp/wrong.json" --user-dir "$tmp/cu" >"$tmp/out" 2>&1; rc=$?
expect_eq "an unmet expectation: exit 1" 1 "$rc"
check "names the case and step" grep -q "FAIL per process, step 1: events differ" "$tmp/out"
check "what was expected" grep -q -- "- expected: nginx_rss_high started low on nginx (pid 10)" "$tmp/out"
check "and what came" grep -q -- "+ got:      nginx_rss_high started high on nginx (pid 10)" "$tmp/out"

# Conditions that fail, loop and allocate without end are switched off
# with a rule_error naming file:line; the one beside them goes on.
cat >"$tmp/cu/conditions/bad.lua" <<'LUA'
return {
  { name = "bad_error", above = 1,
    value = function(r) return r.cpu.nothing.here end },
  { name = "bad_loop", above = 1,
    value = function(r) while true do end end },
  { name = "bad_alloc", above = 1,
    value = function(r) local t = {} while true do t[#t + 1] = string.rep("x", 4096) end end },
  { name = "still_fine", above = 1, hold = 1,
    value = function(r) return 5 end, message = "fine {value}" },
}
LUA
cat >"$tmp/bad.json" <<'JSON'
{"cases": [{"name": "bad ones", "steps": [
  {"reading": {"cpu": {"busy_pct": 10}}, "repeat": 2,
   "exp_events": [{"type": "rule_error", "subject": "TMP/cu/conditions/bad.lua:3"},
                  {"type": "rule_error", "subject": "TMP/cu/conditions/bad.lua:5"},
                  {"type": "rule_error", "subject": "TMP/cu/conditions/bad.lua:7"},
                  {"type": "still_fine"}]}]}]}
JSON
sed -i "s|TMP|$tmp|g" "$tmp/bad.json"
"$KOTOD" --test-rules "$tmp/bad.json" --user-dir "$tmp/cu" >"$tmp/out" 2>&1; rc=$?
expect_eq "failing conditions: exit 1" 1 "$rc"
check "the events were as expected" grep -q "0 steps failed" "$tmp/out"
check "the error says why" grep -q "condition bad_error switched off: .*bad.lua:3: attempt to index a nil value" "$tmp/out"
check "the loop hit the budget" grep -q "condition bad_loop switched off: .*budget" "$tmp/out"
check "the allocation hit the cap" grep -q "condition bad_alloc switched off: .*memory cap" "$tmp/out"
expect_eq "each reported once" 3 "$(grep -c 'event rule_error started' "$tmp/out")"

# A condition file that is not one fails the load with file:line.
mkdir -p "$tmp/cz/conditions"
printf 'return { name = "x", value = function(r) return 1 end }\n' >"$tmp/cz/conditions/x.lua"
"$KOTOD" --test-rules "$snap/quiet.json" --user-dir "$tmp/cz" >"$tmp/out" 2>&1; rc=$?
expect_eq "a condition without a threshold: exit 1" 1 "$rc"
check "named with file and line" grep -q "x.lua:1: condition x needs one number: 'above' or 'below'" "$tmp/out"
printf 'return { name = "cpu_high", above = 1, value = function(r) return 1 end }\n' >"$tmp/cz/conditions/x.lua"
"$KOTOD" --test-rules "$snap/quiet.json" --user-dir "$tmp/cz" >"$tmp/out" 2>&1
check "a built-in type's name is refused" grep -q "built-in event type" "$tmp/out"
# kotod -t runs the user's tests that rule_tests names, and fails with them.
printf 'rule_tests = "%s"\nuser_dir = "%s"\n' "$tmp/cases.json" "$tmp/cu" >"$tmp/t.conf.lua"
rm -f "$tmp/cu/conditions/bad.lua"
"$KOTOD" -t -c "$tmp/t.conf.lua" --state-dir "$tmp/st" >"$tmp/out" 2>&1; rc=$?
expect_eq "kotod -t with passing rule tests: exit 0" 0 "$rc"
check "says they passed" grep -q "rule tests .*cases.json: passed" "$tmp/out"
mkdir -p "$tmp/tests" && cp "$tmp/cases.json" "$tmp/wrong.json" "$tmp/tests/"
printf 'rule_tests = "%s"\nuser_dir = "%s"\n' "$tmp/tests" "$tmp/cu" >"$tmp/t.conf.lua"
"$KOTOD" -t -c "$tmp/t.conf.lua" --state-dir "$tmp/st" >"$tmp/out" 2>&1; rc=$?
expect_eq "kotod -t with a failing one in the directory: exit 1" 1 "$rc"
check "names it" grep -q "rule tests .*wrong.json: FAILED" "$tmp/out"
check "with the diff" grep -q -- "- expected: nginx_rss_high started low" "$tmp/out"
# A condition's type is an event type like the others: the remediate list may bind it.
printf 'user_dir = "%s"\nremediate = { { event = "nginx_rss_high", template = "process_memory_high" } }\n' "$tmp/cu" >"$tmp/r.conf.lua"
"$KOTOD" -t -c "$tmp/r.conf.lua" --state-dir "$tmp/st" >"$tmp/out" 2>&1; rc=$?
expect_eq "remediate names a condition: valid" 0 "$rc"
printf 'remediate = { { event = "no_such_condition", template = "process_memory_high" } }\n' >"$tmp/r.conf.lua"
"$KOTOD" -t -c "$tmp/r.conf.lua" --state-dir "$tmp/st" >"$tmp/out" 2>&1; rc=$?
expect_eq "remediate names an unknown type: refused" 1 "$rc"
# The reading is read-only to conditions: one that writes to it fails with a
# rule_error, and the next (files run in name order) sees the reading as it was.
mkdir -p "$tmp/ro/conditions"
cat >"$tmp/ro/conditions/a_writer.lua" <<'LUA'
return { name = "a_writer", above = 1,
  value = function(r) r.memory.used_pct = 0; return 2 end }
LUA
cat >"$tmp/ro/conditions/b_reader.lua" <<'LUA'
-- Everything a reader may do with the reading still works through it.
return { name = "b_reader", above = 10,
  value = function(r)
    local first = r.filesystems[1]
    assert(first == r.filesystems[1] and first.mount_point, "one table, one proxy")
    local n = 0
    for _, fs in pairs(r.filesystems) do n = n + 1 end
    assert(select(2, next(r.filesystems)) == first, "the same proxy once it is a table")
    local m = 0
    for _ in ipairs(r.filesystems) do m = m + 1 end
    assert(n == #r.filesystems and m == n and n > 0, "pairs, ipairs and # agree")
    assert(next(r.filesystems) ~= nil and rawlen(r.filesystems) == n, "next and rawlen see it")
    assert(rawget(r.memory, "used_pct") == r.memory.used_pct, "rawget sees it")
    assert(type(r.memory) == "table", "a table still")
    local seen = {}
    for k, v in pairs(r) do seen[k] = v end
    assert(seen.memory == r.memory and seen.processes and seen.cpu, "the reading itself: pairs")
    assert(rawget(r, "memory") == r.memory, "the reading itself: rawget")
    return r.memory.used_pct
  end }
LUA
cat >"$tmp/ro/conditions/c_nested.lua" <<'LUA'
return { name = "c_nested", above = 1,
  value = function(r) r.filesystems[1].used_pct = 0; return 2 end }
LUA
cat >"$tmp/ro/conditions/d_top.lua" <<'LUA'
return { name = "d_top", above = 1,
  value = function(r) r.memory = {}; return 2 end }
LUA
cat >"$tmp/ro.json" <<'JSON'
{"cases": [{"name": "a write fails; the next condition sees the original",
  "steps": [{"reading": {"memory": {"used_pct": 50}, "filesystems": [{"mount_point": "/", "used_pct": 40}, {"mount_point": "/var", "used_pct": 30}]},
             "exp_events": [{"type": "rule_error", "subject": "CONDS/a_writer.lua:2"},
                            {"type": "b_reader", "state": "started"},
                            {"type": "rule_error", "subject": "CONDS/c_nested.lua:2"},
                            {"type": "rule_error", "subject": "CONDS/d_top.lua:2"}]}]}]}
JSON
sed -i "s|CONDS|$tmp/ro/conditions|g" "$tmp/ro.json"
"$KOTOD" --test-rules "$tmp/ro.json" --user-dir "$tmp/ro" >"$tmp/out" 2>&1
check "a condition writing to the reading gets a rule_error; the next sees the original" \
  grep -q " 0 steps failed" "$tmp/out"
check "the error says the reading is read-only" grep -q "a_writer switched off: .*the reading is read-only" "$tmp/out"
# The reading becomes Lua only where it is read, from JSON freed after the
# tick: a part kept into the next tick raises instead of reading it, read in
# its own tick or not.
mkdir -p "$tmp/keep/conditions"
cat >"$tmp/keep/conditions/reader.lua" <<'LUA'
-- Reads a field of the first reading's memory, keeps it, reads it again a tick later.
local kept
return { name = "reader", above = 1000,
  value = function(r)
    if kept then return kept.used_pct end
    kept = r.memory
    return kept.used_pct
  end }
LUA
cat >"$tmp/keep/conditions/keeper.lua" <<'LUA'
-- Keeps a part of the first reading that nobody reads, and reads it a tick later.
local kept
return { name = "keeper", above = 1000,
  value = function(r)
    if kept then return kept[1].rx_bytes_ps end
    kept = r.network
    return 0
  end }
LUA
cat >"$tmp/keep.json" <<'JSON'
{"cases": [{"name": "a reading kept past its tick raises",
  "steps": [{"reading": {"network": [{"name": "eth0", "rx_bytes_ps": 5}], "memory": {"used_pct": 5}},
             "exp_events": []},
            {"reading": {"network": [{"name": "eth0", "rx_bytes_ps": 5}], "memory": {"used_pct": 5}},
             "exp_events": [{"type": "rule_error", "subject": "CONDS/keeper.lua:4"},
                            {"type": "rule_error", "subject": "CONDS/reader.lua:4"}]}]}]}
JSON
sed -i "s|CONDS|$tmp/keep/conditions|g" "$tmp/keep.json"
"$KOTOD" --test-rules "$tmp/keep.json" --user-dir "$tmp/keep" >"$tmp/out" 2>&1
check "a reading kept past its tick gets a rule_error, not freed memory" grep -q " 0 steps failed" "$tmp/out"
check "which says why" grep -q "keeper.lua:5: a reading is only there during the tick it was read in" "$tmp/out"
check "and so does a part read in its tick" grep -q "reader.lua:5: a reading is only there during the tick it was read in" "$tmp/out"
finish
