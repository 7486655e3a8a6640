#!/usr/bin/env bash
# test_rules_doc.sh KOTOD - every worked example of docs/rules.md runs: its
# condition file loads and meets the expectations written beside it.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

# After each "<!-- example: NAME -->": the next ```lua block is the
# condition, the next ```json block its cases.
awk -v dir="$tmp" '
  /^<!-- example: [a-z_]+ -->$/ { name = $3; mode = ""; next }
  name && /^```lua$/ { mode = "lua"; system("mkdir -p " dir "/" name "/conditions"); next }
  name && /^```json$/ { mode = "json"; next }
  name && /^```$/ { if (mode == "json") name = ""; mode = ""; next }
  mode == "lua" { print > (dir "/" name "/conditions/" name ".lua") }
  mode == "json" { print > (dir "/" name ".json") }
' "$repo/docs/rules.md"
n=0
for cases in "$tmp"/*.json; do
  name=$(basename "$cases" .json)
  n=$((n + 1))
  "$KOTOD" --test-rules "$cases" --user-dir "$tmp/$name" >"$tmp/$name.out" 2>&1; rc=$?
  expect_eq "docs/rules.md example $name meets its expectations" 0 "$rc"
  [ "$rc" = 0 ] || cat "$tmp/$name.out" | grep -v '^    '
  check "example $name raised its events" grep -q "event $(sed -n 's/.*name = "\([a-z_]*\)".*/\1/p' "$tmp/$name/conditions/$name.lua" | head -1) " "$tmp/$name.out"
done
expect_eq "three worked examples" 3 "$n"
finish
