#!/usr/bin/env bash
# test_golden.sh KOTOD [-u] - kotod --once on captured t0/t1 procfs trees,
# compared with tests/golden/<tree>.json, as node_exporter's end-to-end test
# does. -u rewrites the golden files (review the diff before committing).
#
# --rootfs points nowhere so filesystem sizes are unknown (null) rather than
# the build machine's; the wall-clock time is the only field masked.
KOTOD=$1
update=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$here/../fixtures
golden=$here/../golden
. "$here/lib.sh"

for tree in linux-basic linux-hostile; do
  sys=$fixtures/$tree/sys
  [ -d "$sys" ] || sys=/nonexistent-koto-sysfs
  if ! "$KOTOD" --once --procfs "$fixtures/$tree/t0" --procfs "$fixtures/$tree/t1" \
      --sysfs "$sys" --rootfs /nonexistent-koto-root >"$tmp/$tree.raw" 2>"$tmp/$tree.err"; then
    not_ok "$tree: kotod --once runs" "$(cat "$tmp/$tree.err")"
    continue
  fi
  jq -S 'del(.time)' "$tmp/$tree.raw" >"$tmp/$tree.json"
  if [ "$update" = -u ]; then
    cp "$tmp/$tree.json" "$golden/$tree.json"
    ok "$tree: golden file rewritten"
  elif diff -u "$golden/$tree.json" "$tmp/$tree.json" >"$tmp/$tree.diff"; then
    ok "$tree: output matches tests/golden/$tree.json"
  else
    not_ok "$tree: output differs from tests/golden/$tree.json" "$(head -60 "$tmp/$tree.diff")"
  fi
done
finish
