#!/usr/bin/env bash
# bench/run.sh - koto's cost figures against the goals of the sampling issues:
#   1. CPU time of one kt_plat_sample() vs a bare loop that only reads the
#      same files (open, read to the end, close), at the current process count,
#   2. the same with N extra idle processes (default 2000),
#   3. kotod --interval 1000 over a window (default 60 s): CPU % of one core
#      and RSS; with -r, a reference kotod (another commit's) right after it
#      under the same conditions, and the difference.
# Prints a markdown table. Numbers, not pass/fail: exits 0 whether or not the
# goals are met; non-zero only when something could not be measured.
#
#   bench/run.sh [-d SECONDS] [-n ITERATIONS] [-p EXTRA_PROCS] [-x] [-k KOTOD] [-r REV]
#     -d  kotod measuring window in seconds, after a 2 s warm-up (default 60)
#     -n  iterations of each side of bench_sample (default 200)
#     -p  extra idle processes for the second run (default 2000; 0 skips it)
#     -x  keep the extra processes alive while kotod is measured
#     -k  measure this kotod binary instead of building build-bench/kotod
#     -r  also measure the kotod of git revision REV (built from `git archive`
#         in build-bench/ref/), e.g. -r main: what the work being measured changed
set -euo pipefail
cd "$(dirname "$0")/.."

window=60 iters=200 extra=2000 keep_extra=0 kotod='' ref_rev=''
while getopts "d:n:p:xk:r:h" opt; do
  case $opt in
    d) window=$OPTARG ;;
    n) iters=$OPTARG ;;
    p) extra=$OPTARG ;;
    x) keep_extra=1 ;;
    k) kotod=$OPTARG ;;
    r) ref_rev=$OPTARG ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
for v in "$window" "$iters" "$extra"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "run.sh: '$v' is not a whole number" >&2; exit 2; }
done
((window > 0 && iters > 0)) || { echo "run.sh: -d and -n must be positive" >&2; exit 2; }

build="build-bench"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/koto-bench.XXXXXX")
idle_pid='' kotod_pid='' bench_pid='' sleep_pid=''

# ---- cleanup: runs on every exit, normal or not ------------------------------------
stop_extra() {
  local pidfile=$tmp/idle.pids p comm victims=()
  # Kill the listed children first: until their parent reaps them their pids
  # cannot be reused, so nothing else can be hit. Only bench_idle processes.
  if [[ -f $pidfile ]]; then
    while read -r p; do
      [[ $p =~ ^[0-9]+$ ]] || continue
      comm=''
      read -r comm 2>/dev/null <"/proc/$p/comm" || true
      [[ $comm == bench_idle ]] && victims+=("$p")
    done <"$pidfile"
    ((${#victims[@]} == 0)) || kill -KILL "${victims[@]}" 2>/dev/null || true
    rm -f "$pidfile"
  fi
  if [[ -n $idle_pid ]]; then
    kill -TERM "$idle_pid" 2>/dev/null || true # it reaps its children and exits
    wait "$idle_pid" 2>/dev/null || true
    idle_pid=''
  fi
}

kotod_exit=''
stop_kotod() {
  [[ -n $kotod_pid ]] || return 0
  kill -TERM "$kotod_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$kotod_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$kotod_pid" 2>/dev/null || true
  kotod_exit=0
  wait "$kotod_pid" 2>/dev/null || kotod_exit=$?
  kotod_pid=''
}

cleanup() {
  [[ -z $sleep_pid ]] || kill "$sleep_pid" 2>/dev/null || true
  if [[ -n $bench_pid ]]; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  stop_kotod
  stop_extra
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

count_procs() { local p=(/proc/[0-9]*); echo "${#p[@]}"; }
# kv KEY LINE: the value of KEY=... in a bench_sample line
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# ---- build -----------------------------------------------------------------------------
echo "building a Release tree in $build/ ..." >&2
jobs=$(nproc 2>/dev/null || echo 2)
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DKT_TESTS=OFF &&
       cmake --build "$build" -j "$jobs" --target bench_sample bench_idle; } >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log" >&2
  echo "run.sh: build failed" >&2
  exit 1
fi
# kotod is built apart: when it does not build, the sampler figures still come.
have_kotod=1
if [[ -n $kotod ]]; then
  [[ -x $kotod ]] || { echo "run.sh: $kotod is not an executable" >&2; exit 2; }
elif ! cmake --build "$build" -j "$jobs" --target kotod >"$tmp/build-kotod.log" 2>&1; then
  grep -m 5 'error' "$tmp/build-kotod.log" >&2 || tail -5 "$tmp/build-kotod.log" >&2
  echo "run.sh: kotod does not build; its figures are skipped" >&2
  have_kotod=0
else
  kotod=$build/kotod
fi
ref_kotod=''
if [[ -n $ref_rev ]]; then
  ref_src=$build/ref/src ref_build=$build/ref/build
  echo "building the reference kotod of $ref_rev in $build/ref/ ..." >&2
  ref_commit=$(git rev-parse --verify "$ref_rev^{commit}")
  if [[ $(cat "$build/ref/commit" 2>/dev/null) != "$ref_commit" ]]; then
    rm -rf "$build/ref" && mkdir -p "$ref_src"
    [[ ! -d node_modules ]] || ln -s "$PWD/node_modules" "$ref_src/node_modules"
    git archive "$ref_commit" | tar -x -C "$ref_src" && echo "$ref_commit" >"$build/ref/commit"
  fi
  if [[ -f $build/ref/commit ]] &&
    cmake -S "$ref_src" -B "$ref_build" -DCMAKE_BUILD_TYPE=Release -DKT_TESTS=OFF \
      -DKT_WERROR=OFF >"$tmp/build-ref.log" 2>&1 && # measured, not judged: its warnings may stand
    cmake --build "$ref_build" -j "$jobs" --target kotod >>"$tmp/build-ref.log" 2>&1; then
    ref_kotod=$ref_build/kotod
  else
    tail -5 "$tmp/build-ref.log" >&2
    echo "run.sh: the kotod of $ref_rev does not build; its figures are skipped" >&2
  fi
fi
bench=$build/bench/bench_sample
# run_bench OUTFILE ARGS...: in the background and waited for, so a signal to
# this script is handled at once rather than after bench_sample ends.
run_bench() {
  local out=$1; shift
  "$bench" "$@" >"$out" &
  bench_pid=$!
  wait "$bench_pid" || { echo "run.sh: bench_sample $* failed" >&2; exit 1; }
  bench_pid=''
  echo "  $(<"$out")" >&2
}
pause() { sleep "$1" & sleep_pid=$!; wait "$sleep_pid"; sleep_pid=''; }
cold_iters=$((iters < 40 ? iters : 40))

# ---- 1. sample vs raw reads at the current process count --------------------------------
echo "bench_sample at $(count_procs) processes ($iters iterations each side) ..." >&2
run_bench "$tmp/line1" -n "$iters"
echo "  ... with an unmanaged pool per reading, as kotod allocates (-u)" >&2
run_bench "$tmp/line1u" -n "$iters" -u
echo "  ... cold: 100 ms between readings (-s 100, $cold_iters iterations)" >&2
run_bench "$tmp/line1c" -n "$cold_iters" -b 5 -s 100
line1=$(<"$tmp/line1") line1u=$(<"$tmp/line1u") line1c=$(<"$tmp/line1c")

# ---- 2. the same with extra idle processes -----------------------------------------------
line2=''
if ((extra > 0)); then
  echo "starting $extra idle processes ..." >&2
  (exec "$build/bench/bench_idle" "$extra" "$tmp/idle.pids") &
  idle_pid=$!
  for _ in $(seq 600); do
    [[ -f $tmp/idle.pids ]] && break
    kill -0 "$idle_pid" 2>/dev/null || { echo "run.sh: bench_idle failed" >&2; exit 1; }
    sleep 0.1
  done
  [[ -f $tmp/idle.pids ]] || { echo "run.sh: bench_idle did not start in 60 s" >&2; exit 1; }
  echo "bench_sample at $(count_procs) processes ..." >&2
  run_bench "$tmp/line2" -n "$iters"
  line2=$(<"$tmp/line2")
  ((keep_extra)) || stop_extra
fi

# ---- 3. kotod --interval 1000 --------------------------------------------------------------
hz=$(getconf CLK_TCK)
# utime + stime (fields 14, 15) of all threads, in clock ticks, read after the
# last ')' of comm. The kernel derives them from the scheduler's runtime, so
# they are exact but truncated to whole ticks.
cpu_ticks() {
  local stat rest f
  read -r stat <"/proc/$1/stat"
  rest=${stat##*) }
  read -r -a f <<<"$rest" # f[0] is field 3 (state)
  echo $((f[11] + f[12]))
}
# The same runtime in ms with ns precision, summed over the threads, when the
# kernel has /proc/<pid>/task/<tid>/sched (CONFIG_SCHED_DEBUG); else empty.
# Threads that exit take their runtime along: compare tids() at both ends.
tids() { local t; for t in /proc/"$1"/task/*; do printf '%s ' "${t##*/}"; done; }
cpu_ms() {
  cat /proc/"$1"/task/*/sched 2>/dev/null |
    awk '/^se\.sum_exec_runtime/ { s += $3; n++ } END { if (n) printf "%.6f\n", s }'
}
status_kib() { sed -n "s/^$2:[[:space:]]*\\([0-9]*\\) kB/\\1/p" "/proc/$1/status"; }

# measure_kotod TAG BINARY: CPU and RSS of that kotod over the window, into K_*[TAG].
declare -A K_cpu K_ticks K_cpu_ns K_per_reading K_rss K_hwm K_threads K_warnings K_exit K_procs K_args
measure_kotod() {
  local tag=$1 bin=$2 help ticks0 ticks1 ms0 ms1 t0 t1 tids0 tids1 kargs
  K_procs[$tag]=$(count_procs)
  # Newer kotods serve HTTP and keep a token: any free port, state in $tmp.
  kargs=(--interval 1000)
  help=$("$bin" --help 2>&1 || true)
  [[ $help != *--listen* ]] || kargs+=(--listen 127.0.0.1:0)
  [[ $help != *--state-dir* ]] || kargs+=(--state-dir "$tmp/state-$tag")
  K_args[$tag]="${kargs[*]//$tmp/\$TMP}"
  echo "$bin ${kargs[*]} for 2 s warm-up + $window s at ${K_procs[$tag]} processes ..." >&2
  (exec "$bin" "${kargs[@]}") >"$tmp/kotod-$tag.log" 2>&1 &
  kotod_pid=$!
  pause 2
  kill -0 "$kotod_pid" 2>/dev/null || { cat "$tmp/kotod-$tag.log" >&2; echo "run.sh: kotod died" >&2; exit 1; }
  ticks0=$(cpu_ticks "$kotod_pid") ms0=$(cpu_ms "$kotod_pid") t0=$EPOCHREALTIME tids0=$(tids "$kotod_pid")
  pause "$window"
  kill -0 "$kotod_pid" 2>/dev/null || { cat "$tmp/kotod-$tag.log" >&2; echo "run.sh: kotod died" >&2; exit 1; }
  ticks1=$(cpu_ticks "$kotod_pid") ms1=$(cpu_ms "$kotod_pid") t1=$EPOCHREALTIME tids1=$(tids "$kotod_pid")
  [[ $tids0 == "$tids1" ]] || ms0='' # a thread came or went: the sum would be wrong
  K_rss[$tag]=$(status_kib "$kotod_pid" VmRSS) K_hwm[$tag]=$(status_kib "$kotod_pid" VmHWM)
  K_threads[$tag]=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$kotod_pid/status")
  stop_kotod
  K_exit[$tag]=$kotod_exit
  K_warnings[$tag]=$(grep -c ' warn \| error ' "$tmp/kotod-$tag.log" || true)
  read -r K_cpu[$tag] K_ticks[$tag] <<<"$(awk -v a="$ticks0" -v b="$ticks1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    'BEGIN { printf "%.3f %d\n", 100 * (b - a) / hz / (t1 - t0), b - a }')"
  K_cpu_ns[$tag]='' K_per_reading[$tag]=''
  if [[ -n $ms0 && -n $ms1 ]]; then
    read -r K_cpu_ns[$tag] K_per_reading[$tag] <<<"$(awk -v a="$ms0" -v b="$ms1" -v t0="$t0" -v t1="$t1" \
      'BEGIN { w = t1 - t0; printf "%.4f %.0f\n", 100 * (b - a) / 1000 / w, 1000 * (b - a) / w }')"
  fi
}

if ((have_kotod)); then
  measure_kotod new "$kotod"
  [[ -z $ref_kotod ]] || measure_kotod ref "$ref_kotod"
fi
stop_extra

# ---- the table -------------------------------------------------------------------------------
yes_no() { awk -v v="$1" -v g="$2" -v op="$3" \
  'BEGIN { ok = op == "le" ? v <= g : v < g; print ok ? "yes" : "**no**" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.2f MiB", k / 1024 }'; }
ratio_row() { # label line goal
  local l=$2
  printf '| %s | **%s** (%s µs vs %s µs raw; median of rounds %s) | ≤ %s | %s |\n' \
    "$1" "$(kv ratio "$l")" "$(kv sample_us "$l")" "$(kv raw_us "$l")" "$(kv ratio_med "$l")" \
    "$3" "$(yes_no "$(kv ratio "$l")" "$3" le)"
}
kotod_rows() { # tag label
  local t=$1 who=$2
  printf '| %s CPU, %% of one core, utime+stime (--interval 1000, %s s, %s procs) | **%s %%** (%s ticks of %s ms) | < 0.12 %% | %s |\n' \
    "$who" "$window" "${K_procs[$t]}" "${K_cpu[$t]}" "${K_ticks[$t]}" "$((1000 / hz))" "$(yes_no "${K_cpu[$t]}" 0.12 lt)"
  if [[ -n ${K_cpu_ns[$t]} ]]; then
    printf '| %s CPU, %% of one core, sum_exec_runtime (ns precision) | **%s %%** (%s µs per reading) | < 0.12 %% | %s |\n' \
      "$who" "${K_cpu_ns[$t]}" "${K_per_reading[$t]}" "$(yes_no "${K_cpu_ns[$t]}" 0.12 lt)"
  fi
  printf '| %s RSS at the end (VmRSS) | **%s** | < 4 MiB | %s |\n' "$who" "$(mib "${K_rss[$t]}")" "$(yes_no "${K_rss[$t]}" 4096 lt)"
  printf '| %s peak RSS (VmHWM) | **%s** | < 4 MiB | %s |\n' "$who" "$(mib "${K_hwm[$t]}")" "$(yes_no "${K_hwm[$t]}" 4096 lt)"
}

echo
echo "koto bench, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, Linux $(uname -r)"
echo
echo '| Figure | Measured | Goal | Met |'
echo '|---|---|---|---|'
ratio_row "CPU of one sample / raw reads, $(kv procs "$line1") procs" "$line1" 0.90
[[ -z $line2 ]] ||
  ratio_row "CPU of one sample / raw reads, $(kv procs "$line2") procs (+$extra idle)" "$line2" 0.60
ratio_row "same, $(kv procs "$line1u") procs, sample pool unmanaged as in kotod (-u)" "$line1u" 0.90
ratio_row "same, $(kv procs "$line1c") procs, cold: 100 ms between readings (-s 100)" "$line1c" 0.90
if ((have_kotod)); then
  kotod_rows new kotod
  if [[ -n $ref_kotod ]]; then
    kotod_rows ref "kotod of $ref_rev"
    for f in rss hwm; do
      declare -n K=K_$f
      d=$((K[new] - K[ref]))
      printf '| kotod %s minus %s'"'"'s, %s procs | **%+.2f MiB** | ≤ +0.50 MiB | %s |\n' \
        "$( [[ $f == rss ]] && echo VmRSS || echo VmHWM)" "$ref_rev" "${K_procs[new]}" \
        "$(awk -v d="$d" 'BEGIN { print d / 1024 }')" "$(yes_no "$d" 512 le)"
      unset -n K
    done
  fi
else
  echo '| kotod CPU and RSS | not measured: kotod did not build | | |'
fi
echo
echo "bench_sample: $iters iterations each side (cold: $cold_iters), alternating in blocks;" \
  "cmdlines=$(kv cmdlines "$line1") mounts=$(kv mounts "$line1") disks=$(kv disks "$line1")." \
  "$( ((have_kotod)) && echo "kotod (${K_args[new]}): ${K_threads[new]} threads, ${K_warnings[new]} warnings logged, exit status ${K_exit[new]} after SIGTERM$( ((keep_extra)) && echo ", extra processes kept").")" \
  "$( [[ -n $ref_kotod ]] && echo "kotod of $ref_rev: ${K_threads[ref]} threads, ${K_warnings[ref]} warnings, exit status ${K_exit[ref]}.")"
