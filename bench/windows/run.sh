#!/usr/bin/env bash
# bench/windows/run.sh - the Windows process table's cost under Wine: one
# NtQuerySystemInformation call (platform/windows/proc.c) against the old
# toolhelp path (tests/windows/toolhelp.c), alternating in one run, at Wine's
# own process count and with extra idle processes. Numbers, not pass/fail.
#
#   bench/windows/run.sh [-n ITERATIONS] [-c EXTRA_PROCESSES]
#     -n  iterations of each side (default 200)
#     -c  extra idle processes for the second run (default 40; 0 skips it)
#
# Builds bench_procs in build-win/ as scripts/win-test.sh configures it (the
# cross-built dependencies are cached), in a throwaway Wine prefix there, and
# stops that prefix's wineserver on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

iters=200 extra=40
while getopts "n:c:h" opt; do
  case $opt in
    n) iters=$OPTARG ;;
    c) extra=$OPTARG ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
for v in "$iters" "$extra"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "run.sh: '$v' is not a whole number" >&2; exit 2; }
done

build=${KT_WIN_BUILD:-$PWD/build-win}
prefix=$(scripts/win-deps.sh | tail -1)
echo "building bench_procs in $build/ ..." >&2
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/mingw64.cmake" \
  -DKT_WIN_DEPS_PREFIX="$prefix" -DKT_WERROR=ON -DKT_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target bench_procs >/dev/null

export WINEPREFIX="$build/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY
trap 'wineserver -k 2>/dev/null || true' EXIT
mkdir -p "$WINEPREFIX"
wineserver -p
wine wineboot </dev/null >/dev/null 2>&1

exe=$build/bench/windows/bench_procs.exe
echo "bench_procs at Wine's process count ($iters iterations each side) ..." >&2
line1=$(wine "$exe" -n "$iters")
echo "  $line1" >&2
line2=''
if ((extra > 0)); then
  echo "bench_procs with $extra extra idle processes ..." >&2
  line2=$(wine "$exe" -n "$iters" -c "$extra")
  echo "  $line2" >&2
fi

kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
row() {
  printf '| %s procs | **%s** (%s µs vs %s µs) | %s (%s µs vs %s µs) |\n' "$(kv procs "$1")" \
    "$(kv ratio "$1")" "$(kv new_us "$1")" "$(kv old_us "$1")" \
    "$(kv cpu_ratio "$1")" "$(kv new_cpu_us "$1")" "$(kv old_cpu_us "$1")"
}
echo
echo "koto Windows process table under $(wine --version), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs"
echo
echo '| Processes | one call / toolhelp path, wall time | same, this process'"'"'s CPU time |'
echo '|---|---|---|'
row "$line1"
[[ -z $line2 ]] || row "$line2"
