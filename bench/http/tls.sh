#!/usr/bin/env bash
# bench/http/tls.sh - kotod's HTTPS against nginx with the same certificate:
#   1. keep-alive: wrk -t1 -c50 --latency on GET /api/agent/monitor/status
#      over TLS, and on a private nginx serving the same body (a copy of
#      kotod's answer) with the same certificate and key;
#   2. new TLS connections per second: the same with "Connection: close", so
#      every request is a new TCP connection and a new TLS handshake.
# Both servers get one CPU (taskset -c 1), wrk the other (-c 0); the runs
# are interleaved and the best of RUNS is kept per figure (noise on a shared
# machine only makes a run worse). Numbers, not a test: exits 0 whatever
# they are, non-zero only when something could not be measured.
#   Usage: bench/http/tls.sh [-k KOTOD] [-d SECONDS] [-c CONNECTIONS] [-r RUNS]
#     -k  kotod to measure (default: a Release build in $BUILD_DIR,
#         default /tmp/bench-http-build)
#     -d  seconds per wrk run (default 10)   -c  wrk connections (default 50)
#     -r  runs per side (default 2)
# The certificate is ECDSA P-256, made here with the openssl command; both
# servers offer TLS 1.2 and 1.3 (wrk negotiates 1.3).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kotod="" duration=10 conns=50 runs=2
while getopts "k:d:c:r:h" o; do
  case $o in
  k) kotod=$OPTARG ;; d) duration=$OPTARG ;; c) conns=$OPTARG ;; r) runs=$OPTARG ;;
  *) sed -n '2,18p' "$0"; exit 2 ;;
  esac
done
log() { echo "$*" >&2; }
die() { log "tls.sh: $*"; exit 1; }
for t in wrk curl openssl taskset; do command -v $t >/dev/null || die "$t is missing (apt-get install wrk curl openssl util-linux)"; done
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || die "nginx is missing (apt-get install nginx-light)"
if [[ -z $kotod ]]; then
  build=${BUILD_DIR:-/tmp/bench-http-build}
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DKT_TESTS=OFF >/dev/null || die "cmake configure failed"
  cmake --build "$build" -j2 --target kotod >/dev/null || die "cmake build failed"
  kotod=$build/kotod
fi
(($(nproc) >= 2)) || die "needs two CPUs (wrk on one, the server on the other)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/koto-bench-tls.XXXXXX")
chmod 755 "$tmp" # nginx's workers (an unprivileged user under root) read from it
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

. "$here/../lib.sh" # free_port
wait_ok() { # wait_ok URL PID
  for _ in $(seq 500); do
    curl -fsS -o /dev/null --max-time 2 --cacert "$tmp/cert.pem" "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" \
  -out "$tmp/cert.pem" -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null || die "openssl req failed"
chmod 644 "$tmp/key.pem"

# kotod
kport=$(free_port) || die "no free port"
printf 'tls = { cert = "%s", key = "%s" }\n' "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/koto.conf.lua"
taskset -c 1 "$kotod" -c "$tmp/koto.conf.lua" --listen "127.0.0.1:$kport" --state-dir "$tmp/state" \
  --interval 1000 2>"$tmp/kotod.log" &
kpid=$!
pids+=("$kpid")
kurl="https://localhost:$kport/api/agent/monitor/status"
wait_ok "$kurl" "$kpid" || { tail "$tmp/kotod.log" >&2; die "kotod did not start"; }

# nginx, serving kotod's answer as a file
mkdir -p "$tmp/www" "$tmp/nginx/temp"
curl -fsS --cacert "$tmp/cert.pem" -o "$tmp/www/status.json" "$kurl" || die "cannot fetch the status"
nport=$(free_port) || die "no free port"
cat >"$tmp/nginx/nginx.conf" <<NGINX
daemon off;
master_process on;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    types { application/json json; }
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path $tmp/nginx/temp/body;
    proxy_temp_path $tmp/nginx/temp/proxy;
    fastcgi_temp_path $tmp/nginx/temp/fastcgi;
    uwsgi_temp_path $tmp/nginx/temp/uwsgi;
    scgi_temp_path $tmp/nginx/temp/scgi;
    server {
        listen 127.0.0.1:$nport ssl;
        ssl_certificate $tmp/cert.pem;
        ssl_certificate_key $tmp/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $tmp/www;
    }
}
NGINX
taskset -c 1 "$nginx" -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx/stderr" &
npid=$!
pids+=("$npid")
nurl="https://localhost:$nport/status.json"
wait_ok "$nurl" "$npid" || { cat "$tmp/nginx/stderr" "$tmp/nginx/error.log" >&2; die "nginx did not start"; }

to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u != "ms") { print "?"; exit }
    printf "%.2f", n }'
}
declare -A rps p50 p99 errs
bench() { # bench KEY URL [wrk args]
  local key=$1 url=$2 out=$tmp/wrk.txt r a b e
  shift 2
  log "  wrk $key"
  taskset -c 0 wrk -t1 -c"$conns" -d"${duration}s" --latency "$@" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
  r=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  a=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  b=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  e=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
           /Socket errors:/ { for (i = 3; i <= NF; i++) { gsub(/,/, "", $i); if ($i ~ /^[0-9]+$/) n += $i } }
           END { print n + 0 }' "$out")
  awk -v a="$r" -v b="${rps[$key]:-0}" 'BEGIN { exit !(a > b) }' && rps[$key]=$r
  [[ -z ${p50[$key]:-} ]] || awk -v a="$a" -v b="${p50[$key]}" 'BEGIN { exit !(a < b) }' && p50[$key]=$a
  [[ -z ${p99[$key]:-} ]] || awk -v a="$b" -v b="${p99[$key]}" 'BEGIN { exit !(a < b) }' && p99[$key]=$b
  errs[$key]=$((${errs[$key]:-0} + e))
}

log "kotod $kurl, nginx $nurl; $(wc -c <"$tmp/www/status.json") B; wrk -t1 -c$conns -d${duration}s, best of $runs, wrk CPU 0, servers CPU 1"
for ((i = 0; i < runs; i++)); do
  bench koto-ka "$kurl"
  bench nginx-ka "$nurl"
  bench koto-new "$kurl" -H "Connection: close"
  bench nginx-new "$nurl" -H "Connection: close"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
printf '%-34s %12s %9s %9s %7s\n' "" "req/s" "p50 ms" "p99 ms" "errors"
for k in koto-ka nginx-ka koto-new nginx-new; do
  printf '%-34s %12s %9s %9s %7s\n' "$k" "${rps[$k]}" "${p50[$k]}" "${p99[$k]}" "${errs[$k]}"
done
echo "keep-alive req/s koto/nginx:      $(ratio "${rps[koto-ka]}" "${rps[nginx-ka]}") (goal >= 1.0), koto p99 ${p99[koto-ka]} ms (goal < 2)"
echo "new TLS connections/s koto/nginx: $(ratio "${rps[koto-new]}" "${rps[nginx-new]}") (goal >= 0.8)"
