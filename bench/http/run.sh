#!/usr/bin/env bash
# bench/http/run.sh - kotod's HTTP frontend against nginx, side by side:
#   1. wrk on GET /api/agent/monitor/status and GET /metrics, and on a private
#      nginx serving static files of exactly the same sizes (the same bodies),
#      both on loopback, same wrk settings (-t1 -c50 --latency); interleaved
#      (koto, nginx, nginx auto, ...); per side, the best of RUNS runs for
#      each figure (highest req/s, lowest p50, lowest p99);
#   2. start to first answer: spawn kotod (and nginx) on a fixed free port
#      and time until the first GET /healthz answers 200; median and max.
# Prints markdown tables on stdout, progress on stderr. Numbers, not pass/fail:
# exits 0 whether or not the goals are met (koto >= nginx req/s, p99 < 2 ms at
# 50 connections, start to first answer < 10 ms); non-zero only when something
# could not be measured.
#
#   bench/http/run.sh [-d SECONDS] [-r RUNS] [-c CONNS] [-t THREADS] [-n STARTS]
#                     [-i MS] [-p|-P] [-H] [-x] [-z] [-k KOTOD] [-o DIR]
#     -d  seconds per wrk run (default $DURATION, else 10)
#     -r  wrk runs per side, the best of each figure is kept (default 2)
#     -c  wrk connections (default 50)
#     -t  wrk threads (default 1: two wrk threads on one core take turns in
#         scheduler slices, and the one waiting adds ~4 ms to its requests'
#         latency, whatever the server does)
#     -n  starts timed for start-to-first-answer (default 20; 0 skips)
#     -i  kotod's --interval during the wrk runs (default 1000: a reading,
#         and its CPU burst, every second while wrk measures)
#     -p  pin (the default): wrk on CPU 0, the servers on CPU 1 (taskset), so
#         client and server do not steal each other's core on a 2-core box.
#         The nginx "auto" row is skipped.
#     -P  do not pin: everything shares every core (adds the nginx "auto" row)
#     -H  hold kotod and the one-worker nginx each to half a core (a cgroup
#         CPU quota; root) during the wrk runs: with a large body (/metrics)
#         wrk's core is the limit otherwise, and the ratio measures wrk
#     -x  also a Connection: close run per endpoint (one TCP connection per
#         request), one run per side
#     -z  also GET /healthz (33 B, a trivial handler) against the same bytes
#         from nginx: the HTTP frontend's own cost, without the rendering
#     -k  measure this kotod binary instead of building one
#         ($BUILD_DIR, default /tmp/bench-http-build, CMake Release)
#     -o  keep the raw wrk outputs and the start times in DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

duration=${DURATION:-10} interval=1000 runs=2 conns=50 threads=1 starts=20 pin=1 held=0 churn=0 healthz=0 kotod='' keep=''
while getopts "d:r:c:t:n:i:pPHxzk:o:h" opt; do
  case $opt in
    d) duration=$OPTARG ;;
    r) runs=$OPTARG ;;
    c) conns=$OPTARG ;;
    t) threads=$OPTARG ;;
    n) starts=$OPTARG ;;
    i) interval=$OPTARG ;;
    p) pin=1 ;;
    P) pin=0 ;;
    H) held=1 ;;
    x) churn=1 ;;
    z) healthz=1 ;;
    k) kotod=$OPTARG ;;
    o) keep=$OPTARG ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
for v in "$duration" "$runs" "$conns" "$threads" "$starts" "$interval"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "run.sh: '$v' is not a whole number" >&2; exit 2; }
done
((duration > 0 && runs > 0 && conns > 0 && threads > 0)) ||
  { echo "run.sh: -d, -r, -c and -t must be positive" >&2; exit 2; }
((threads <= conns)) || { echo "run.sh: -t must not exceed -c" >&2; exit 2; }
((interval >= 100)) || { echo "run.sh: -i must be at least 100" >&2; exit 2; }

log() { printf '%s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---- tools: wrk and nginx from Debian's packages, if missing ------------------------
as_root() {
  if ((EUID == 0)); then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root or sudo to run: $*"
  fi
}
find_nginx() { command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true; }
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -n $(find_nginx) ]] || missing+=(nginx-light)
command -v curl >/dev/null || missing+=(curl)
command -v taskset >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { as_root apt-get update >&2 && as_root apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
    die "could not install ${missing[*]}"
fi
nginx=$(find_nginx)
[[ -n $nginx ]] || die "nginx not found after installing it"
command -v cc >/dev/null || die "no C compiler (cc); run ./build.sh first"

# ---- kotod, Release ------------------------------------------------------------------
if [[ -z $kotod ]]; then
  build=${BUILD_DIR:-/tmp/bench-http-build}
  log "building kotod (Release) in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DKT_TESTS=OFF >/dev/null ||
    die "cmake configure failed"
  cmake --build "$build" -j"$(nproc)" --target kotod >/dev/null || die "cmake build failed"
  kotod=$build/kotod
fi
[[ -x $kotod ]] || die "$kotod is not an executable"

if [[ -n $keep ]]; then mkdir -p "$keep" || die "cannot create $keep"; fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/koto-bench-http.XXXXXX")
# nginx's workers drop to an unprivileged user when started as root: they
# must be able to read the files it serves.
chmod 755 "$tmp"
cc -O2 -o "$tmp/first_answer" "$here/first_answer.c" || die "cannot compile first_answer.c"

# ---- cleanup: every server we started, on every exit ---------------------------------
pids=()
stop_pid() { # stop_pid PID: TERM, up to 5 s, then KILL; reaps it
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
held_cgroups=()
cleanup() {
  local p
  for p in ${held_cgroups[@]+"${held_cgroups[@]}"}; do unhold "$p"; done
  held_cgroups=()
  for p in "${pids[@]}"; do stop_pid "$p"; done
  pids=()
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- helpers --------------------------------------------------------------------------
if ((pin)); then
  (($(nproc) >= 2)) || die "-p needs two CPUs"
  on_client=(taskset -c 0) on_server=(taskset -c 1)
else
  on_client=() on_server=()
fi

. "$here/../lib.sh" # free_port

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

wait_ok() { # wait_ok URL PID: until URL answers 2xx (5 s)
  local i
  for ((i = 0; i < 500; i++)); do
    http_ok "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}

# nginx_conf DIR PORT WORKERS ROOT: a private, minimal nginx configuration.
nginx_conf() {
  local d=$1
  mkdir -p "$d/temp"
  cat >"$d/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $3;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    default_type application/octet-stream;
    types { application/json json; text/plain txt; }
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path $d/temp/body;
    proxy_temp_path $d/temp/proxy;
    fastcgi_temp_path $d/temp/fastcgi;
    uwsgi_temp_path $d/temp/uwsgi;
    scgi_temp_path $d/temp/scgi;
    server {
        listen 127.0.0.1:$2;
        root $4;
    }
}
EOF
}

start_nginx() { # start_nginx NAME WORKERS -> sets ngx_port[NAME], ngx_pid[NAME]
  local d=$tmp/nginx-$1 port pid
  for _ in 1 2 3; do # a free port may be taken before nginx binds it
    port=$(free_port)
    nginx_conf "$d" "$port" "$2" "$tmp/www"
    "${on_server[@]}" "$nginx" -p "$d" -e "$d/error.log" -c "$d/nginx.conf" 2>>"$d/stderr.log" &
    pid=$!
    pids+=("$pid")
    if wait_ok "http://127.0.0.1:$port/healthz" "$pid"; then
      ngx_port[$1]=$port ngx_pid[$1]=$pid
      return 0
    fi
    stop_pid "$pid"
  done
  tail -n 20 "$d/stderr.log" "$d/error.log" >&2 2>/dev/null || true
  die "nginx ($1) did not start"
}

# to_ms VALUE: wrk's "812.00us", "2.58ms", "1.02s", "2.00m" in ms
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    else if (u != "ms") { print "?"; exit }
    printf "%.2f", n }'
}

# bench KEY URL [wrk args...]: one wrk run; keeps KEY's best req/s, p50, p99
declare -A rps p50 p99 errs
nrun=0
bench() {
  local key=$1 url=$2 out r a b e
  shift 2
  nrun=$((nrun + 1))
  out=$tmp/wrk-$nrun-$key.txt
  log "  wrk $key"
  "${on_client[@]}" wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$@" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed on $url"; }
  if [[ -n $keep ]]; then cp "$out" "$keep/"; fi
  r=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  [[ -n $r ]] || { cat "$out" >&2; die "no Requests/sec in wrk's output for $url"; }
  a=$(awk '$1 == "50%" { print $2 }' "$out")
  b=$(awk '$1 == "99%" { print $2 }' "$out")
  # Errors: non-2xx answers and socket errors, summed.
  e=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
           /Socket errors:/ { for (i = 3; i <= NF; i++) { gsub(/,/, "", $i); if ($i ~ /^[0-9]+$/) n += $i } }
           END { print n + 0 }' "$out")
  # Best of the runs, figure by figure: noise only ever makes a run worse.
  a=$(to_ms "$a") b=$(to_ms "$b")
  better "$r" "${rps[$key]:-}" gt && rps[$key]=$r
  better "$a" "${p50[$key]:-}" lt && p50[$key]=$a
  better "$b" "${p99[$key]:-}" lt && p99[$key]=$b
  errs[$key]=$((${errs[$key]:-0} + e))
}

better() { # better NEW OLD gt|lt: NEW beats OLD (or there is no OLD)
  [[ -z $2 ]] && return 0
  awk -v a="$1" -v b="$2" -v op="$3" 'BEGIN { exit !(op == "gt" ? a > b : a < b) }'
}

# busy_pct: % of all CPUs busy over 1 s (/proc/stat) - before and after the
# wrk runs, when nothing of ours runs, to show how noisy the machine is.
busy_pct() {
  local a b
  a=$(awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $5+$6 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $5+$6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
    busy = y[1] - x[1]; idle = y[2] - x[2]
    printf "%.0f", (busy + idle > 0 ? 100 * busy / (busy + idle) : 0) }'
}

fmt_rps() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

busy_before=$(busy_pct)
((busy_before < 25)) ||
  log "warning: the machine is already ${busy_before}% busy; figures will be noisy"

# ---- kotod --------------------------------------------------------------------------------
state=$tmp/state # kotod creates it, 0700
mkdir -p "$tmp/www"
"${on_server[@]}" "$kotod" --listen 127.0.0.1:0 --state-dir "$state" --interval "$interval" \
  2>"$tmp/kotod.log" &
kpid=$!
pids+=("$kpid")
kaddr=''
for ((i = 0; i < 500; i++)); do
  kaddr=$(sed -n 's|.*dashboard at http://\([^/]*\)/monitoring-dashboard.*|\1|p' "$tmp/kotod.log" | head -n1)
  [[ -n $kaddr ]] && break
  kill -0 "$kpid" 2>/dev/null || break
  sleep 0.01
done
[[ -n $kaddr ]] || { cat "$tmp/kotod.log" >&2; die "kotod did not start"; }
kurl=http://$kaddr
wait_ok "$kurl/api/agent/monitor/status" "$kpid" ||
  { cat "$tmp/kotod.log" >&2; die "kotod does not answer $kurl/api/agent/monitor/status"; }

# The bodies, once: nginx serves copies of them, so the sizes match exactly.
curl -fsS --max-time 5 -o "$tmp/www/status.json" "$kurl/api/agent/monitor/status" ||
  die "cannot fetch /api/agent/monitor/status"
curl -fsS --max-time 5 -o "$tmp/www/metrics.txt" "$kurl/metrics" || die "cannot fetch /metrics"
printf '{"status":"ok","monitoring":true}' >"$tmp/www/healthz"
# Per endpoint: kotod's path, nginx's copy, the size.
eps=(status metrics)
((healthz)) && eps+=(healthz)
declare -A kpath=([status]=/api/agent/monitor/status [metrics]=/metrics [healthz]=/healthz)
declare -A npath=([status]=/status.json [metrics]=/metrics.txt [healthz]=/healthz)
declare -A size
for ep in "${eps[@]}"; do size[$ep]=$(wc -c <"$tmp/www${npath[$ep]}"); done

declare -A ngx_port ngx_pid
start_nginx one 1
((pin)) || start_nginx auto auto
nauto=$( ((pin)) || pgrep -c -P "${ngx_pid[auto]}" || echo "?")

if ((held)); then
  for held_pid in "$kpid" "$(pgrep -P "${ngx_pid[one]}" | head -n1)"; do
    cg=$(half_core "bench-http-$held_pid" "$held_pid") || die "-H: cannot hold the servers"
    held_cgroups+=("$cg")
  done
fi

log "kotod at $kurl (pid $kpid); nginx 1 worker at 127.0.0.1:${ngx_port[one]}$( ((pin)) ||
  echo ", nginx auto ($nauto workers) at 127.0.0.1:${ngx_port[auto]}")"
log "status ${size[status]} B, metrics ${size[metrics]} B; wrk -t$threads -c$conns -d${duration}s," \
  "best of $runs$( ((pin)) && echo ", pinned: wrk CPU 0, servers CPU 1")"

# ---- 1. throughput and latency, interleaved ------------------------------------------------
sides=(koto one)
((pin)) || sides+=(auto)
for ((run = 1; run <= runs; run++)); do
  log "run $run/$runs"
  for ep in "${eps[@]}"; do
    for side in "${sides[@]}"; do
      if [[ $side == koto ]]; then bench "koto-$ep" "$kurl${kpath[$ep]}"
      else bench "$side-$ep" "http://127.0.0.1:${ngx_port[$side]}${npath[$ep]}"; fi
    done
  done
done
if ((churn)); then
  log "Connection: close"
  for ep in "${eps[@]}"; do
    bench "koto-$ep-close" "$kurl${kpath[$ep]}" -H "Connection: close"
    bench "one-$ep-close" "http://127.0.0.1:${ngx_port[one]}${npath[$ep]}" -H "Connection: close"
  done
fi

for p in ${held_cgroups[@]+"${held_cgroups[@]}"}; do unhold "$p"; done
held_cgroups=()

# kotod answered everything? (its own counters, before we stop it)
kstats=$(curl -fsS --max-time 5 "$kurl/metrics" | awk '
  /^koto_http_requests_total\{code="2xx"\}/ { ok = $2 } /^koto_http_requests_total\{/ { all += $2 }
  END { if (NR) printf "%d answers, %d not 2xx", all, all - ok }' || true)

for p in "${pids[@]}"; do stop_pid "$p"; done
pids=()
busy_after=$(busy_pct)

# ---- 2. start to first answer ------------------------------------------------------------------
median_max() { # stdin: numbers; prints "median max"
  sort -n | awk '{ v[NR] = $1 } END {
    if (!NR) { print "? ?"; exit }
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1f %.1f\n", m, v[NR] }'
}
start_k='' start_n=''
if ((starts > 0)); then
  sport=$(free_port)
  log "start to first answer, $starts times each, port $sport"
  "$tmp/first_answer" "$sport" "$starts" /healthz -- "${on_server[@]}" "$kotod" \
    --listen "127.0.0.1:$sport" --state-dir "$tmp/state-start" --interval 1000 \
    >"$tmp/start-koto.txt" & fpid=$!
  pids+=("$fpid"); wait "$fpid" || die "start-to-first-answer failed for kotod"; pids=()
  nginx_conf "$tmp/nginx-start" "$sport" 1 "$tmp/www"
  "$tmp/first_answer" "$sport" "$starts" /healthz -- "${on_server[@]}" "$nginx" \
    -p "$tmp/nginx-start" -e "$tmp/nginx-start/error.log" -c "$tmp/nginx-start/nginx.conf" \
    >"$tmp/start-nginx.txt" & fpid=$!
  pids+=("$fpid"); wait "$fpid" || die "start-to-first-answer failed for nginx"; pids=()
  start_k=$(median_max <"$tmp/start-koto.txt")
  start_n=$(median_max <"$tmp/start-nginx.txt")
  if [[ -n $keep ]]; then cp "$tmp/start-koto.txt" "$tmp/start-nginx.txt" "$keep/"; fi
fi

# ---- report -------------------------------------------------------------------------------------
row() { # row EP KOTOKEY NGINXKEY LABEL
  local k=$2 n=$3
  printf '| GET %s | %s B | %s | %s | %s | %s ms | %s ms | %s ms |\n' "${kpath[$1]}$4" "${size[$1]}" \
    "$(fmt_rps "${rps[$k]}")" "$(fmt_rps "${rps[$n]}")" "$(ratio "${rps[$k]}" "${rps[$n]}")" \
    "${p50[$k]}" "${p99[$k]}" "${p99[$n]}"
}
echo
echo "$("$kotod" --version 2>/dev/null | head -n1 || echo kotod) vs nginx $("$nginx" -v 2>&1 | sed 's|.*/||');" \
  "$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo));" \
  "kotod --interval $interval; wrk -t$threads -c$conns -d${duration}s --latency, best of $runs;" \
  "$( ((pin)) && echo "pinned: wrk on CPU 0, servers on CPU 1" || echo "not pinned")$( ((held)) &&
    echo ", each server held to half a core");" \
  "CPU busy without us: ${busy_before}% before, ${busy_after}% after"
echo
echo "| endpoint | size | koto req/s | nginx req/s | ratio | koto p50 | koto p99 | nginx p99 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for ep in "${eps[@]}"; do row "$ep" "koto-$ep" "one-$ep" ""; done
if ((!pin)); then
  for ep in "${eps[@]}"; do row "$ep" "koto-$ep" "auto-$ep" " (vs nginx auto, $nauto workers)"; done
fi
if ((churn)); then
  for ep in "${eps[@]}"; do row "$ep" "koto-$ep-close" "one-$ep-close" " (Connection: close)"; done
fi
echo
echo "nginx: 1 worker unless noted. ratio = koto req/s / nginx req/s. p50/p99 from wrk --latency;" \
  "each figure is its side's best of $runs runs."
bad=''
for k in "${!errs[@]}"; do ((errs[$k] == 0)) || bad+=" $k:${errs[$k]}"; done
[[ -z $bad ]] || echo "wrk errors (non-2xx or socket errors), all runs:$bad"
[[ -z $kstats ]] || echo "kotod's own counters at the end: $kstats."
if [[ -n $start_k ]]; then
  echo
  echo "| start to first GET /healthz 200 ($starts starts) | median | max |"
  echo "| --- | ---: | ---: |"
  read -r m x <<<"$start_k"; echo "| kotod | $m ms | $x ms |"
  read -r m x <<<"$start_n"; echo "| nginx (1 worker) | $m ms | $x ms |"
fi
echo
echo "goals:"
for ep in status metrics; do
  echo "- $ep: req/s $(ratio "${rps[koto-$ep]}" "${rps[one-$ep]}")x nginx (goal >= 1):" \
    "$(awk -v a="${rps[koto-$ep]}" -v b="${rps[one-$ep]}" 'BEGIN { print (a >= b ? "met" : "NOT met") }');" \
    "p99 ${p99[koto-$ep]} ms (goal < 2):" \
    "$(awk -v a="${p99[koto-$ep]}" 'BEGIN { print (a < 2 ? "met" : "NOT met") }')"
done
if [[ -n $start_k ]]; then
  read -r m x <<<"$start_k"
  echo "- start to first answer: median $m ms (goal < 10):" \
    "$(awk -v a="$m" 'BEGIN { print (a < 10 ? "met" : "NOT met") }'); max $x ms"
fi
