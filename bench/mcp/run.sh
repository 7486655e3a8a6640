#!/usr/bin/env bash
# bench/mcp/run.sh - tools/call get_system_health over /mcp against the REST
# status endpoint (GET /api/agent/monitor/status), on one kotod in the same
# run: wrk -t1 -c10 --latency on each, interleaved (rest, mcp, rest, mcp...),
# the best of RUNS runs per figure (highest req/s, lowest p99). Both carry a
# read,propose token (kotod --token add). wrk on CPU 0, kotod on CPU 1.
# Prints a markdown table; numbers, not pass/fail (the goal: MCP p99 <= 2 ms
# and req/s >= 0.8x REST's).
#
#   bench/mcp/run.sh [-d SECONDS] [-r RUNS] [-c CONNS] [-k KOTOD]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=10 runs=3 conns=10 kotod=''
while getopts "d:r:c:k:h" opt; do
  case $opt in
    d) duration=$OPTARG ;; r) runs=$OPTARG ;; c) conns=$OPTARG ;; k) kotod=$OPTARG ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "run.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
if [ -z "$kotod" ]; then
  build=${BUILD_DIR:-/tmp/bench-mcp-build}
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DKT_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target kotod >/dev/null
  kotod=$build/kotod
fi
tmp=$(mktemp -d)
pid=''
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
export TOKEN
TOKEN=$("$kotod" --state-dir "$tmp/state" --token add bench 2>/dev/null)
taskset -c 1 "$kotod" --listen 127.0.0.1:0 --interval 1000 --state-dir "$tmp/state" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do grep -q 'dashboard at' "$tmp/log" && break; sleep 0.05; done
base=$(grep -o 'dashboard at http://[^/]*' "$tmp/log" | sed 's/dashboard at //')
[ -n "$base" ] || { echo "run.sh: kotod did not start" >&2; cat "$tmp/log" >&2; exit 1; }
export BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_system_health","arguments":{}}}'
curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$BODY" "$base/mcp" \
  | grep -q '"isError":false' || { echo "run.sh: the tool call failed" >&2; exit 1; }

# wrk's req/s and p99 (ms) for one run.
measure() {
  local out
  out=$(taskset -c 0 wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$here/$1" "$2")
  local rps p99
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) sub(/ms/, "", v); else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; print v}' <<<"$out")
  grep -q 'Non-2xx' <<<"$out" && { echo "run.sh: non-2xx answers:" >&2; echo "$out" >&2; exit 1; }
  echo "$rps $p99"
}
best_rest_rps=0 best_rest_p99=1e9 best_mcp_rps=0 best_mcp_p99=1e9
for i in $(seq "$runs"); do
  read -r r p < <(measure get.lua "$base/api/agent/monitor/status")
  echo "run $i rest: $r req/s, p99 $p ms" >&2
  best_rest_rps=$(awk -v a="$best_rest_rps" -v b="$r" 'BEGIN {print (b > a) ? b : a}')
  best_rest_p99=$(awk -v a="$best_rest_p99" -v b="$p" 'BEGIN {print (b < a) ? b : a}')
  read -r r p < <(measure post.lua "$base/mcp")
  echo "run $i mcp:  $r req/s, p99 $p ms" >&2
  best_mcp_rps=$(awk -v a="$best_mcp_rps" -v b="$r" 'BEGIN {print (b > a) ? b : a}')
  best_mcp_p99=$(awk -v a="$best_mcp_p99" -v b="$p" 'BEGIN {print (b < a) ? b : a}')
done
ratio=$(awk -v m="$best_mcp_rps" -v r="$best_rest_rps" 'BEGIN {printf "%.2f", m / r}')
echo "| endpoint ($conns connections, ${duration}s x $runs, best) | req/s | p99 ms |"
echo "|---|---|---|"
echo "| GET /api/agent/monitor/status | $best_rest_rps | $best_rest_p99 |"
echo "| POST /mcp tools/call get_system_health | $best_mcp_rps | $best_mcp_p99 |"
echo "| MCP / REST req/s | $ratio | (goal >= 0.8; p99 <= 2 ms) |"
