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
finish
