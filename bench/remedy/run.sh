#!/usr/bin/env bash
# bench/remedy/run.sh BUILD_DIR [CYCLES] - the remediation benchmarks:
#   1. bench_checks: a reading's CPU with 20 process checks against none;
#   2. propose -> approve -> run of a trivial template (memory_high), CYCLES
#      times (default 50) through the real kotod and curl: kotod's own CPU
#      (utime + stime of its /proc/PID/stat, children excluded: the scripts'
#      bash is not kotod's time) per cycle, and the wall time per cycle.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [CYCLES]}
cycles=${2:-50}
"$build/bench/remedy/bench_checks" 300

tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
printf 'scripts_dir = "%s/scripts"\n' "$tmp" >"$tmp/koto.conf.lua"
# One reading a day: the sampler's own work stays out of the figure.
"$build/kotod" -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --interval 86400000 \
  --state-dir "$tmp/state" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do grep -q "dashboard at" "$tmp/log" && break; sleep 0.05; done
base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/log" | head -1)"
auth="Authorization: Bearer $(cat "$tmp/state/token")"
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
t0=$(date +%s%N)
for _ in $(seq "$cycles"); do
  p=$(curl -sS -X POST -H "$auth" -d '{"issue_type":"memory_high","top":1}' "$base/api/agent/remediations")
  id=$(jq .id <<<"$p")
  curl -sS -o /dev/null -X POST -H "$auth" -d "{\"sha256\":$(jq .sha256 <<<"$p")}" \
    "$base/api/agent/remediations/$id/approve"
  until curl -sS -H "$auth" "$base/api/agent/remediations/$id" | jq -e '.state == "succeeded" or .state == "failed"' >/dev/null; do
    sleep 0.01
  done
done
t1=$(date +%s%N)
after=$(ticks)
awk -v c="$cycles" -v d="$((after - before))" -v hz="$hz" -v w="$(( (t1 - t0) / 1000000 ))" 'BEGIN {
  printf "propose -> approve -> run, %d cycles: kotod CPU %.1f ms per cycle (goal < 50), wall %.0f ms per cycle (dry run and run included)\n", c, d * 1000 / hz / c, w / c }'
