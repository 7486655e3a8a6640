#!/usr/bin/env bash
# Runs every libFuzzer target of a KT_FUZZ build tree, one after another,
# SECONDS split evenly among them, and prints how many inputs each ran.
#   scripts/fuzz.sh BUILD_DIR SECONDS [NAME...]   (./build.sh fuzz calls it)
# The targets are the seed directories: fuzz_NAME for each
# tests/fuzz/corpus/NAME/, whose seeds are only read. New inputs go to
# BUILD_DIR/tests/fuzz/corpus-NAME (kept between runs, never committed),
# crashes to BUILD_DIR/fuzz-artifacts/, each run's output to
# BUILD_DIR/fuzz-logs/NAME.log. One at a time: a fuzzer keeps a core busy.
# Exits 1 when any target found a crash, a leak, a timeout or a broken
# property (its log's tail is printed), after running the others.
set -uo pipefail
cd "$(dirname "$0")/.."

build=${1:?usage: $0 BUILD_DIR SECONDS [NAME...]}
total=${2:?usage: $0 BUILD_DIR SECONDS [NAME...]}
shift 2
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for d in tests/fuzz/corpus/*/; do names+=("$(basename "$d")"); done
fi
per=$((total / ${#names[@]}))
[ "$per" -ge 1 ] || per=1

mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
failed=()
sum=0
printf '%-16s %8s %12s %10s\n' target seconds executions exec/s
for name in "${names[@]}"; do
  bin=$build/tests/fuzz/fuzz_$name
  log=$build/fuzz-logs/$name.log
  scratch=$build/tests/fuzz/corpus-$name
  if [ ! -x "$bin" ]; then
    echo "$name: no $bin (is there a kt_add_fuzzer($name ...) in tests/fuzz/CMakeLists.txt?)" >&2
    failed+=("$name")
    continue
  fi
  mkdir -p "$scratch"
  start=$SECONDS
  "$bin" -max_total_time="$per" -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$name-" "$scratch" "tests/fuzz/corpus/$name" \
    >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  runs=${runs:-0}
  sum=$((sum + runs))
  took=$((SECONDS - start))
  printf '%-16s %8d %12d %10d\n' "$name" "$took" "$runs" $((runs / (took > 0 ? took : 1)))
  if [ "$rc" -ne 0 ]; then
    failed+=("$name")
    echo "---- $name failed (exit $rc); the end of $log:" >&2
    tail -n 40 "$log" >&2
  fi
done
printf '%-16s %8d %12d\n' total "$SECONDS" "$sum"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in $build/fuzz-artifacts/)" >&2
  exit 1
fi
