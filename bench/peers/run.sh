#!/usr/bin/env bash
# bench/peers/run.sh - kotod beside Debian's collectd and monit, configured
# for the same work, in one run:
#   - every daemon reads at 1 s: CPU, memory, load, filesystems, disks,
#     network, processes;
#   - three process checks (the same three names in each: monit's `check
#     process ... matching`, collectd's `ProcessMatch`, koto's `checks`);
#   - each keeps what it read: kotod its store (SQLite, tiered history),
#     collectd its CSV files, monit its state file;
#   - kotod also has a webhook channel (to a receiver on loopback).
# All three run at once for DURATION seconds after a warm-up; the figures
# are each one's CPU (every thread's run time, /proc/PID/task/*/schedstat)
# over the same window, as % of one core, and its RSS at the end. Then:
#   - one whole tick against the raw reads of the same files, both back to
#     back in one process (bench_tick, built in build-bench/, with kotod's
#     configuration); and kotod's CPU per reading against the raw reads
#     back to back, at its cadence of one reading a second, and at its
#     shortest interval (a second kotod at 100 ms, after the window);
#   - start to first answer (bench/http/first_answer.c), 20 starts.
# Prints a markdown table with the goals of the install-and-operate issue
# beside the figures. A measurement, not a test: exits 0 whether or not a goal
# is met, non-zero only when something could not be measured.
#
# Usage: bench/peers/run.sh [-k KOTOD] [-d SECONDS] [-w WARMUP]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kotod=$repo/build/kotod
duration=60
warmup=10
while getopts "k:d:w:" o; do
  case $o in
    k) kotod=$OPTARG ;;
    d) duration=$OPTARG ;;
    w) warmup=$OPTARG ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 2 ;;
  esac
done
die() { echo "bench/peers: $*" >&2; exit 1; }
. "$here/../lib.sh" # free_port
[ -x "$kotod" ] || die "no kotod at $kotod (build it, or -k PATH)"
for p in collectd monit python3 cc; do
  command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] ||
    die "$p is missing (apt-get install collectd-core monit python3 gcc)"
done
collectd=$(command -v collectd || echo /usr/sbin/collectd)
monit=$(command -v monit || echo /usr/bin/monit)

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Three long-lived processes every daemon checks by name. Each runs sleep
# through a link of its own name so that both its short name (comm, what
# koto's `process =` matches) and its command line (what monit's `matching`
# and collectd's ProcessMatch see) are that name: with `exec -a` alone comm
# stays "sleep", koto's checks fail and it does work the others do not
# (three process_down events, their notifications).
names=(koto-bench-a koto-bench-b koto-bench-c)
mkdir -p "$tmp/bin"
for n in "${names[@]}"; do
  ln -s "$(command -v sleep)" "$tmp/bin/$n"
  bash -c "exec -a $n $tmp/bin/$n 100000" &
  pids+=($!)
done

# ---- the webhook receiver ---------------------------------------------------------
cat >"$tmp/receiver.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
rport=$(free_port)
python3 "$tmp/receiver.py" "$rport" &
pids+=($!)
head -c 32 /dev/urandom | base64 >"$tmp/secret"
chmod 600 "$tmp/secret"

# ---- kotod -------------------------------------------------------------------------
checks=""
for n in "${names[@]}"; do checks+="  { name = \"$n\", process = \"$n\", min = 1 },"$'\n'; done
cat >"$tmp/koto.conf.lua" <<LUA
checks = {
$checks}
notify = {
  { name = "hook", kind = "webhook", url = "http://127.0.0.1:$rport/", secret_file = "$tmp/secret" },
}
LUA
chmod 600 "$tmp/koto.conf.lua"
kport=$(free_port)
base=http://127.0.0.1:$kport
"$kotod" -c "$tmp/koto.conf.lua" --state-dir "$tmp/koto" --listen "127.0.0.1:$kport" --interval 1000 \
  --log-level warn >/dev/null 2>"$tmp/kotod.log" &
kotod_pid=$!
pids+=($kotod_pid)

# ---- collectd ------------------------------------------------------------------------
{
  echo "Interval 1"
  echo "BaseDir \"$tmp/collectd\""
  echo "PIDFile \"$tmp/collectd.pid\""
  echo "PluginDir \"/usr/lib/collectd\""
  echo "TypesDB \"/usr/share/collectd/types.db\""
  for p in cpu memory load df disk interface processes csv; do echo "LoadPlugin $p"; done
  echo "<Plugin processes>"
  for n in "${names[@]}"; do echo "  ProcessMatch \"$n\" \"$n\""; done
  echo "</Plugin>"
  echo "<Plugin csv>"
  echo "  DataDir \"$tmp/collectd/csv\""
  echo "  StoreRates true"
  echo "</Plugin>"
} >"$tmp/collectd.conf"
mkdir -p "$tmp/collectd"
"$collectd" -f -C "$tmp/collectd.conf" >/dev/null 2>"$tmp/collectd.log" &
collectd_pid=$!
pids+=($collectd_pid)

# ---- monit ---------------------------------------------------------------------------
{
  echo "set daemon 1"
  echo "set logfile $tmp/monit.log"
  echo "set statefile $tmp/monit.state"
  echo "set idfile $tmp/monit.id"
  echo "set pidfile $tmp/monit.pid"
  echo "check system \$HOST"
  echo "  if cpu usage > 85% then alert"
  echo "  if memory usage > 90% then alert"
  echo "  if loadavg (5min) > 8 then alert"
  echo "check filesystem root with path /"
  echo "  if space usage > 85% then alert"
  for n in "${names[@]}"; do
    echo "check process $n matching \"^$n\""
    echo "  if does not exist then alert"
  done
  echo "check network lo with interface lo"
  echo "  if failed link then alert"
} >"$tmp/monitrc"
chmod 600 "$tmp/monitrc"
"$monit" -I -c "$tmp/monitrc" >/dev/null 2>&1 &
monit_pid=$!
pids+=($monit_pid)

# ---- measure ---------------------------------------------------------------------------
# Every thread's run time in ns (schedstat): utime + stime in /proc/PID/stat
# count 10 ms ticks, a tenth of kotod's CPU in a minute.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s }'; }
# status_kib PID FIELD: a kB field of /proc/PID/status (VmRSS, RssAnon, RssFile)
status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# seq_at URL: the number of the reading the kotod at URL last took
seq_at() { curl -s "$1/api/agent/monitor/status" | jq '.snapshot.seq // 0'; }
alive() { for p in "$kotod_pid" "$collectd_pid" "$monit_pid"; do kill -0 "$p" 2>/dev/null || return 1; done; }
sleep "$warmup"
alive || die "a daemon did not stay up: $(tail -n 3 "$tmp"/*.log 2>/dev/null)"
# The same work means kotod's checks find their processes, as the others do.
down=$(curl -s "$base/api/agent/monitor/status" | jq '[.health.active[]? | select(.type == "process_down")] | length')
[ "$down" = 0 ] || die "kotod's process checks did not find their processes ($down down)"
declare -A t0
for p in "$kotod_pid" "$collectd_pid" "$monit_pid"; do t0[$p]=$(cpu_ns "$p"); done
w0=$(date +%s.%N)
s0=$(seq_at "$base")
sleep "$duration"
alive || die "a daemon died during the window"
w1=$(date +%s.%N)
s1=$(seq_at "$base")
declare -A cpu rss
for p in "$kotod_pid" "$collectd_pid" "$monit_pid"; do
  cpu[$p]=$(awk -v a="${t0[$p]}" -v b="$(cpu_ns "$p")" -v w0="$w0" -v w1="$w1" \
    'BEGIN { printf "%.3f", (b - a) / 1e9 / (w1 - w0) * 100 }')
  rss[$p]=$(status_kib "$p" VmRSS)
done
ticks=$((s1 - s0))
# kotod's RSS in its two parts: its own memory, and the pages of the files
# it maps (its code and its libraries').
rss_anon=$(status_kib "$kotod_pid" RssAnon)
rss_file=$(status_kib "$kotod_pid" RssFile)

# kotod's whole tick at its shortest interval, 100 ms, against the raw reads
# 100 ms apart: the same cadence, so the caches are as warm for both. A
# second kotod with the same configuration, after the window.
fast_port=$(free_port)
"$kotod" -c "$tmp/koto.conf.lua" --state-dir "$tmp/koto-fast" --listen "127.0.0.1:$fast_port" \
  --interval 100 --log-level warn >/dev/null 2>>"$tmp/kotod.log" &
fast_pid=$!
pids+=($fast_pid)
sleep 3
f0=$(cpu_ns "$fast_pid") fs0=$(seq_at "http://127.0.0.1:$fast_port")
sleep 10
f1=$(cpu_ns "$fast_pid") fs1=$(seq_at "http://127.0.0.1:$fast_port")
kill "$fast_pid" 2>/dev/null || true
fast_tick_us=$(awk -v a="$f0" -v b="$f1" -v n="$((fs1 - fs0))" 'BEGIN { if (n > 0) printf "%.0f", (b - a) / 1e3 / n }')

# The raw reads of the same files, at this machine's process count.
raw_us=""
bs=$repo/build-bench/bench/bench_sample
# Built (or brought up to date) after the window, so it does not run beside it.
[ -f "$repo/build-bench/CMakeCache.txt" ] ||
  cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=Release -DKT_TESTS=OFF >/dev/null || true
cmake --build "$repo/build-bench" -j2 --target bench_sample bench_tick >/dev/null 2>&1 || true
if [ -x "$bs" ]; then
  raw_us=$("$bs" -n 100 | tr ' ' '\n' | sed -n 's/^raw_us=//p')
  # The same at kotod's cadence, a second between readings, so that the
  # raw reads meet the cold caches kotod's tick meets; kt_plat_sample
  # (the reading alone) is timed beside them.
  cold=$("$bs" -n 20 -b 5 -s 1000 | tr ' ' '\n')
  raw_cold_us=$(sed -n 's/^raw_us=//p' <<<"$cold")
  sample_cold_us=$(sed -n 's/^sample_us=//p' <<<"$cold")
  raw_fast_us=$("$bs" -n 40 -b 5 -s 100 | tr ' ' '\n' | sed -n 's/^raw_us=//p')
fi
# The whole tick and the raw reads alike back to back, in one process
# (bench_tick: the monitor with this configuration's checks, the shipped
# conditions and a store, ticking in turns with the raw reads).
b2b=""
bt=$repo/build-bench/bench/bench_tick
[ ! -x "$bt" ] || b2b=$("$bt" -n 300 -c "$tmp/koto.conf.lua" | tr ' ' '\n')
kv() { sed -n "s/^$1=//p" <<<"$b2b"; }

# Start to first answer, 20 starts.
cc -O2 -o "$tmp/first_answer" "$repo/bench/http/first_answer.c"
fport=$(free_port)
# A start that fails is reported, not fatal: the other figures stand.
first=$( ("$tmp/first_answer" "$fport" 20 /healthz -- "$kotod" --listen "127.0.0.1:$fport" \
  --state-dir "$tmp/first" --interval 1000 || true) | sort -n |
  awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] " ms (median of " NR ")" : "not measured" }')

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
cheaper=$(awk -v a="${cpu[$collectd_pid]}" -v b="${cpu[$monit_pid]}" 'BEGIN { print (a < b ? a : b) }')
tick_us=$(awk -v c="${cpu[$kotod_pid]}" -v w="$duration" -v t="$ticks" \
  'BEGIN { if (t > 0) printf "%.0f", c / 100 * w * 1e6 / t }')
echo
echo "Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(ls /proc | grep -c '^[0-9]') processes; window ${duration} s, $ticks readings by kotod"
echo
echo "| Daemon | CPU (% of one core) | RSS |"
echo "| --- | --- | --- |"
echo "| kotod | ${cpu[$kotod_pid]} | $(mib "${rss[$kotod_pid]}") MiB (own $(mib "$rss_anon"), files mapped $(mib "$rss_file")) |"
echo "| collectd | ${cpu[$collectd_pid]} | $(mib "${rss[$collectd_pid]}") MiB |"
echo "| monit | ${cpu[$monit_pid]} | $(mib "${rss[$monit_pid]}") MiB |"
echo
echo "| Goal | Figure |"
echo "| --- | --- |"
echo "| kotod RSS ≤ 6 MiB | $(mib "${rss[$kotod_pid]}") MiB |"
echo "| kotod CPU ≤ 0.15 % of a core | ${cpu[$kotod_pid]} % |"
echo "| kotod CPU ≤ 0.4× the cheaper peer | $(awk -v k="${cpu[$kotod_pid]}" -v c="$cheaper" 'BEGIN { if (c > 0) printf "%.2f×", k / c; else print "n/a" }') |"
echo "| one whole tick ≤ 1.3× the raw reads, both back to back (bench_tick) | $(kv tick_us) µs against $(kv raw_us) µs: **$(kv tick_ratio)×** (the reading alone $(kv sample_ratio)×; median of rounds $(kv tick_ratio_med)×) |"
echo "| kotod's tick at 1 s (its CPU per reading, caches cold) against the raw reads back to back | ${tick_us:-?} µs against ${raw_us:-?} µs: $(awk -v t="${tick_us:-0}" -v r="${raw_us:-0}" 'BEGIN { if (r > 0 && t > 0) printf "%.2f×", t / r; else print "n/a" }') |"
echo "| start to first answer ≤ 10 ms | ${first} |"
echo
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f×", a / b; else print "n/a" }'; }
echo "At kotod's cadence (a second between readings, caches cold): raw reads ${raw_cold_us:-?} µs," \
  "kt_plat_sample ${sample_cold_us:-?} µs ($(ratio "${sample_cold_us:-}" "${raw_cold_us:-}") the raw)," \
  "kotod's whole tick $(ratio "${tick_us:-}" "${raw_cold_us:-}") the raw."
echo "At kotod's shortest interval (100 ms between readings, for both): kotod's whole tick" \
  "${fast_tick_us:-?} µs against raw reads ${raw_fast_us:-?} µs: $(ratio "${fast_tick_us:-}" "${raw_fast_us:-}")."
