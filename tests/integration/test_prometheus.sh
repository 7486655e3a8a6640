#!/usr/bin/env bash
# test_prometheus.sh KOTOD - a real Prometheus server (Debian's) scrapes
# kotod's /metrics and a PromQL query returns koto's value.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

prom_pid=""
trap 'kill_kotod; [ -n "$prom_pid" ] && kill -9 "$prom_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

cp -r "$repo/tests/fixtures/linux-basic/t0" "$tmp/proc"
start_kotod --procfs "$tmp/proc" --listen 127.0.0.1:0 --interval 200 --state-dir "$tmp/state"
wait_log "dashboard at http://" || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
addr=$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)

curl -sS "http://$addr/metrics" >"$tmp/metrics"
check "promtool check metrics finds nothing to complain about" bash -c "promtool check metrics <'$tmp/metrics'"

cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: koto
    static_configs:
      - targets: ['$addr']
YML
# A free port for Prometheus: try a few at random.
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$port" >"$tmp/prom.log" 2>&1 &
  prom_pid=$!
  sleep 1
  kill -0 "$prom_pid" 2>/dev/null && break
  prom_pid=""
done
[ -n "$prom_pid" ] || { not_ok "Prometheus starts" "$(tail -5 "$tmp/prom.log")"; finish; exit; }
ok "Prometheus starts on 127.0.0.1:$port"

# The fixture's memory: 1 - 1120000/16000000 = 0.93.
value=""
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
  value=$(curl -sS "http://127.0.0.1:$port/api/v1/query?query=koto_memory_used_ratio" |
    jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
  [ -n "$value" ] && break
  sleep 0.5
done
expect_eq "PromQL koto_memory_used_ratio returns kotod's value" 0.93 "$value"
health=$(curl -sS "http://127.0.0.1:$port/api/v1/targets" | jq -r '.data.activeTargets[0].health')
expect_eq "the scrape target is healthy" up "$health"
stop_kotod TERM
finish
