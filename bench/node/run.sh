#!/usr/bin/env bash
# bench/node/run.sh - GET /metrics with both families (node_* and koto_*):
# kotod against node_exporter and against nginx serving kotod's body, in one
# run, and kotod's RSS and CPU at a 1 s interval. Numbers, not pass/fail.
#
#   bench/node/run.sh [KOTOD [BEFORE]]  (default build/kotod; ./build.sh build first)
#   DURATION=5 ROUNDS=3 CONNS=50 IDLE=30 SCRAPED=60 bench/node/run.sh
#
# wrk -t1 on CPU 0, the servers on CPU 1 (as bench/http does); wrk runs of
# DURATION seconds: node_exporter once, kotod and nginx (and BEFORE) in
# turns ROUNDS times. node_exporter is Debian's, with its
# package's default collectors, as a user runs it. IDLE seconds of kotod
# alone at --interval 1000 give its CPU (utime+stime from /proc) and RSS.
# Then SCRAPED seconds of the 1 Hz cost side by side, each kotod at
# --interval 1000 with /metrics scraped every second (a new page each
# reading): KOTOD serving koto_* only (metrics = "koto", today's page),
# KOTOD serving both, and BEFORE (a build of an earlier commit) when given.
# CPU is every thread's run time (/proc/PID/task/*/schedstat); RSS is VmRSS
# and its anonymous part (the rest is the shared libraries' pages).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kotod=${1:-$repo/build/kotod}
before=${2:-}
scraped=${SCRAPED:-60}
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
conns=${CONNS:-50}
idle=${IDLE:-30}
[ -x "$kotod" ] || { echo "no kotod at $kotod: ./build.sh build" >&2; exit 1; }
for tool in wrk nginx prometheus-node-exporter taskset curl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "installing what the benchmark needs" >&2
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get install -y -qq --no-install-recommends wrk nginx-light prometheus-node-exporter \
      util-linux curl >&2
    break
  }
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
pids=() cgroups=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for c in ${cgroups[@]+"${cgroups[@]}"}; do unhold "$c"; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM HUP
. "$here/../lib.sh" # free_port
wait_ok() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
busy_pct() { # all CPUs, over 1 s of /proc/stat
  read -r _ a b c d e f g h _ </proc/stat; t0=$((a+b+c+d+e+f+g+h)); i0=$((d+e)); sleep 1
  read -r _ a b c d e f g h _ </proc/stat; t1=$((a+b+c+d+e+f+g+h)); i1=$((d+e))
  echo $(( (100 * ((t1 - t0) - (i1 - i0))) / (t1 - t0) ))
}
proc_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

echo "CPU busy before (1 s, all CPUs): $(busy_pct) %" >&2
kport=$(free_port)
taskset -c 1 "$kotod" --listen "127.0.0.1:$kport" --interval 1000 --state-dir "$tmp/state" \
  >"$tmp/kotod.out" 2>"$tmp/kotod.log" &
kpid=$!; pids+=("$kpid")
wait_ok "http://127.0.0.1:$kport/healthz" || { cat "$tmp/kotod.log" >&2; exit 1; }
nport=$(free_port)
taskset -c 1 prometheus-node-exporter --web.listen-address="127.0.0.1:$nport" >"$tmp/ne.log" 2>&1 &
npid=$!; pids+=("$npid")
wait_ok "http://127.0.0.1:$nport/metrics" || { cat "$tmp/ne.log" >&2; exit 1; }
mkdir -p "$tmp/www" "$tmp/ngx/temp"
chmod 755 "$tmp" "$tmp/www" # nginx's worker runs as nobody
sleep 1.2 # a reading with rates
curl -fsS "http://127.0.0.1:$kport/metrics" >"$tmp/www/metrics.txt"
gport=$(free_port)
cat >"$tmp/ngx/nginx.conf" <<NGX
daemon off; master_process on; worker_processes 1; pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/error.log warn; events { worker_connections 1024; }
http { access_log off; default_type text/plain; sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path $tmp/ngx/temp/b; proxy_temp_path $tmp/ngx/temp/p; fastcgi_temp_path $tmp/ngx/temp/f;
  uwsgi_temp_path $tmp/ngx/temp/u; scgi_temp_path $tmp/ngx/temp/s;
  server { listen 127.0.0.1:$gport; root $tmp/www; } }
NGX
taskset -c 1 "$nginx" -p "$tmp/ngx" -e "$tmp/ngx/error.log" -c "$tmp/ngx/nginx.conf" 2>"$tmp/ngx/stderr" &
gpid=$!; pids+=("$gpid")
wait_ok "http://127.0.0.1:$gport/metrics.txt" || { cat "$tmp/ngx/stderr" >&2; exit 1; }

size_k=$(wc -c <"$tmp/www/metrics.txt")
size_n=$(curl -fsS "http://127.0.0.1:$nport/metrics" | wc -c)
# The CPU time of every thread of PID, in ns.
run_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; } # %d: mawk stops at 2^31
run() { # run NAME URL [PID [WRK-ARG...]]: one wrk run -> "req/s p50 p99 µs-of-PID's-CPU-per-answer"
  echo "  wrk $1" >&2
  local ns0=0; [ -n "${3:-}" ] && ns0=$(run_ns "$3")
  taskset -c 0 wrk -t1 -c"$conns" -d"${duration}s" --latency "${@:4}" "$2" >"$tmp/$1.wrk" 2>&1
  local ns=0; [ -n "${3:-}" ] && ns=$(( $(run_ns "$3") - ns0 ))
  awk -v ns="$ns" '/Requests\/sec/ { r = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
       / requests in / { n = $1 } END { printf "%s %s %s %.2f\n", r, p50, p99, n ? ns / 1000 / n : 0 }' \
    "$tmp/$1.wrk"
}
read -r n_rps n_p50 n_p99 n_us < <(run node_exporter "http://127.0.0.1:$nport/metrics" "$npid")
# As Prometheus scrapes: Accept-Encoding: gzip (node_exporter compresses each answer).
gz=(-H "Accept-Encoding: gzip")
read -r nz_rps nz_p50 nz_p99 nz_us < <(run node_exporter_gz "http://127.0.0.1:$nport/metrics" "$npid" "${gz[@]}")
read -r kz_rps kz_p50 kz_p99 kz_us < <(run koto_gz "http://127.0.0.1:$kport/metrics" "$kpid" "${gz[@]}")
size_kz=$(curl -fsS "${gz[@]}" "http://127.0.0.1:$kport/metrics" | wc -c)
size_nz=$(curl -fsS "${gz[@]}" "http://127.0.0.1:$nport/metrics" | wc -c)
ne_rss=$(rss_kib "$npid")
kill "$npid" 2>/dev/null || true
if [ -n "$before" ]; then # its rate too, in the same rounds
  bport=$(free_port)
  taskset -c 1 "$before" --listen "127.0.0.1:$bport" --interval 1000 --state-dir "$tmp/state-b" \
    >/dev/null 2>"$tmp/before-rate.log" &
  bpid=$!; pids+=("$bpid")
  wait_ok "http://127.0.0.1:$bport/healthz" || { cat "$tmp/before-rate.log" >&2; exit 1; }
fi
# kotod and nginx in turns, ROUNDS times: the machine's drift falls on both.
# The table shows the last round; the ratio line every round and the median.
ratio() { awk -v a="$1" -v b="$2" -v p="${3:-1}" 'BEGIN { printf "%.*f", p, (b > 0 ? a / b : 0) }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# With wrk on one core and the server on the other, the rate is often wrk's
# limit (its core 100 % busy, the server's not): so each server's CPU per
# answer is measured too (nginx: its one worker), and compared the same way.
gworker=$(pgrep -P "$gpid" | head -1)
ratios=() b_ratios=() cpu_ratios=() b_cpu_ratios=()
for r in $(seq "$rounds"); do
  read -r k_rps k_p50 k_p99 k_us < <(run koto "http://127.0.0.1:$kport/metrics" "$kpid")
  read -r g_rps g_p50 g_p99 g_us < <(run nginx "http://127.0.0.1:$gport/metrics.txt" "$gworker")
  ratios+=("$(ratio "$k_rps" "$g_rps" 3)")
  cpu_ratios+=("$(ratio "$k_us" "$g_us" 3)")
  if [ -n "$before" ]; then
    read -r b_rps _ _ b_us < <(run before "http://127.0.0.1:$bport/metrics" "$bpid")
    b_ratios+=("$(ratio "$b_rps" "$g_rps" 3)")
    b_cpu_ratios+=("$(ratio "$b_us" "$g_us" 3)")
  fi
  echo "  round $r: kotod $k_us µs of CPU an answer, nginx $g_us${before:+, BEFORE $b_us}" >&2
done
# The same turns with each server held to half of its core (a cgroup CPU
# quota), wrk still on a whole one: the rate is then the server's, not the
# client's. Needs root and a cgroup cpu controller; skipped otherwise.
c_ratios=()
gcg=""
if kcg=$(half_core kotod "$kpid"); then
  cgroups+=("$kcg")
  gcg=$(half_core nginx "$gworker") && cgroups+=("$gcg") || gcg=""
fi
if [ -n "$gcg" ]; then
  for r in $(seq "$rounds"); do
    read -r kc_rps _ _ kc_us < <(run koto-half "http://127.0.0.1:$kport/metrics" "$kpid")
    read -r gc_rps _ _ gc_us < <(run nginx-half "http://127.0.0.1:$gport/metrics.txt" "$gworker")
    c_ratios+=("$(ratio "$kc_rps" "$gc_rps" 3)")
    echo "  round $r, half a core each: kotod ${kc_rps%.*} req/s ($kc_us µs an answer), nginx ${gc_rps%.*} ($gc_us)" >&2
  done
fi
for c in ${cgroups[@]+"${cgroups[@]}"}; do unhold "$c"; done
cgroups=()
kill "$gpid" ${bpid:+"$bpid"} 2>/dev/null || true
echo "CPU busy after the wrk runs, ours stopped but kotod (1 s): $(busy_pct) %" >&2

# kotod alone at a 1 s interval: CPU over IDLE seconds, RSS at the end.
t0=$(proc_cpu_ticks "$kpid"); sleep "$idle"; t1=$(proc_cpu_ticks "$kpid")
k_rss=$(rss_kib "$kpid")
k_cpu=$(awk -v d=$((t1 - t0)) -v s="$idle" 'BEGIN { printf "%.2f", d / s }') # ticks/s = % of a core

echo "| server | body | req/s | p50 | p99 | its CPU an answer |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
echo "| kotod /metrics (node_* and koto_*) | $size_k B | ${k_rps%.*} | $k_p50 | $k_p99 | $k_us µs |"
echo "| node_exporter 1.5 /metrics | $size_n B | ${n_rps%.*} | $n_p50 | $n_p99 | $n_us µs |"
echo "| nginx, kotod's body as a file | $size_k B | ${g_rps%.*} | $g_p50 | $g_p99 | $g_us µs |"
echo "| kotod, in gzip (as Prometheus asks) | $size_kz B | ${kz_rps%.*} | $kz_p50 | $kz_p99 | $kz_us µs |"
echo "| node_exporter, in gzip | $size_nz B | ${nz_rps%.*} | $nz_p50 | $nz_p99 | $nz_us µs |"
echo
echo "kotod / node_exporter: $(ratio "$k_rps" "$n_rps")x; in gzip: $(ratio "$kz_rps" "$nz_rps")x"
echo "kotod / nginx, req/s, each round: ${ratios[*]}; median $(median "${ratios[@]}")x"
echo "kotod / nginx, the server's CPU per answer, each round: ${cpu_ratios[*]}; median $(median "${cpu_ratios[@]}")x"
if [ ${#c_ratios[@]} -gt 0 ]; then
  echo "kotod / nginx, req/s, each held to half a core, each round: ${c_ratios[*]}; median $(median "${c_ratios[@]}")x"
else
  echo "kotod / nginx, each held to half a core: not measured (no cgroup cpu controller to write)"
fi
if [ -n "$before" ]; then
  echo "BEFORE / nginx, req/s, each round: ${b_ratios[*]}; median $(median "${b_ratios[@]}")x"
  echo "BEFORE / nginx, CPU per answer, each round: ${b_cpu_ratios[*]}; median $(median "${b_cpu_ratios[@]}")x"
fi
echo "RSS: kotod $((k_rss / 1024)).$(( (k_rss % 1024) * 10 / 1024 )) MiB, node_exporter $((ne_rss / 1024)).$(( (ne_rss % 1024) * 10 / 1024 )) MiB (after the runs)"
echo "kotod at --interval 1000, alone for ${idle} s: ${k_cpu} % of a core"

# ---- the 1 Hz cost, side by side -------------------------------------------------------
kill "$kpid" 2>/dev/null || true
printf 'metrics = "koto"\n' >"$tmp/koto-only.conf.lua"
names=() ports=() spids=()
start_1hz() { # start_1hz NAME KOTOD ARGS...
  local port; port=$(free_port)
  "$2" --listen "127.0.0.1:$port" --interval 1000 --state-dir "$tmp/state-$1" "${@:3}" \
    >/dev/null 2>"$tmp/$1.log" &
  local pid=$!; pids+=("$pid")
  wait_ok "http://127.0.0.1:$port/healthz" || { cat "$tmp/$1.log" >&2; exit 1; }
  names+=("$1"); ports+=("$port"); spids+=("$pid")
}
start_1hz koto-only "$kotod" -c "$tmp/koto-only.conf.lua"
start_1hz both "$kotod"
[ -n "$before" ] && start_1hz before "$before"
sleep 2
declare -A ns0
for i in "${!spids[@]}"; do ns0[$i]=$(run_ns "${spids[$i]}"); done
for _ in $(seq "$scraped"); do
  for p in "${ports[@]}"; do curl -fsS -o /dev/null "http://127.0.0.1:$p/metrics" & done
  sleep 1
done
sleep 0.5 # the last scrapes' answers
echo
echo "kotod at --interval 1000, /metrics scraped every second for ${scraped} s (load: $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "| kotod | CPU | RSS | of which anonymous |"
echo "| --- | ---: | ---: | ---: |"
for i in "${!spids[@]}"; do
  p=${spids[$i]}
  ms=$(( ($(run_ns "$p") - ns0[$i]) / 1000000 ))
  echo "| ${names[$i]} | $ms ms | $(rss_kib "$p") kB | $(awk '/^RssAnon:/ { print $2 }' "/proc/$p/status") kB |"
done
