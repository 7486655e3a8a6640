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

curl -sS "http://$addr/metrics?collect%5B%5D=koto" >"$tmp/metrics"
check "promtool check metrics finds nothing to complain about in koto_*" \
  bash -c "promtool check metrics <'$tmp/metrics'"
# node_exporter's own names break promtool's snake_case rule (node_memory_MemTotal_bytes):
# that and nothing else.
curl -sS "http://$addr/metrics" >"$tmp/all"
promtool check metrics <"$tmp/all" >"$tmp/lint" 2>&1
expect_eq "promtool: only node_exporter's camelCase meminfo names in the whole answer" "" \
  "$(grep -v "^node_memory_[A-Za-z_]* metric names should be written in 'snake_case' not 'camelCase'$" "$tmp/lint")"
# kotod's build, labelled as node_exporter labels its own (version, revision,
# the toolchain, os and arch), under koto's name: it is not node_exporter.
check "koto_build_info: version, revision, compiler, os and arch" \
  grep -qE '^koto_build_info\{arch="[a-z0-9]+",compiler="[^"]+",os="linux",revision="([0-9a-f]+(-dirty)?|unknown)",version="[0-9.]+"\} 1$' "$tmp/all"
expect_eq "no node_exporter_build_info: koto does not claim node_exporter's version" 0 \
  "$(grep -c '^node_exporter_build_info' "$tmp/all")"
# OpenMetrics when asked for, ending with # EOF; counters named without _total.
curl -sS -D "$tmp/om.head" -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5' \
  "http://$addr/metrics" >"$tmp/om"
check "OpenMetrics: its content type" grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$tmp/om.head"
expect_eq "OpenMetrics: the answer ends with # EOF" "# EOF" "$(tail -1 "$tmp/om")"
check "OpenMetrics: a counter family is named without _total" \
  grep -qx '# TYPE node_cpu_seconds counter' "$tmp/om"
expect_eq "the text format has no # EOF" 0 "$(grep -c '^# EOF' "$tmp/all")"
# gzip for a scraper that asks (Prometheus does at every scrape: the query
# below reads what it scraped so), as node_exporter answers.
curl -sS -D "$tmp/gz.head" -H 'Accept-Encoding: gzip' "http://$addr/metrics" >"$tmp/all.gz"
check "gzip: Content-Encoding: gzip" grep -qi '^content-encoding: gzip' "$tmp/gz.head"
check "gzip: a whole gzip stream (its CRC and length agree)" gzip -t "$tmp/all.gz"
expect_eq "gzip: the same families as the plain answer" \
  "$(grep '^# TYPE' "$tmp/all" | sort)" "$(zcat "$tmp/all.gz" | grep '^# TYPE' | sort)"
check "gzip: under a third of the plain answer ($(wc -c <"$tmp/all.gz") of $(wc -c <"$tmp/all") bytes)" \
  test $(($(wc -c <"$tmp/all.gz") * 3)) -lt "$(wc -c <"$tmp/all")"
expect_eq "gzip: OpenMetrics still ends with # EOF" "# EOF" "$(curl -sS -H 'Accept-Encoding: gzip' \
  -H 'Accept: application/openmetrics-text' "http://$addr/metrics" | zcat | tail -1)"
expect_eq "gzip: a filtered answer too" "node_load1 node_load15 node_load5" \
  "$(curl -sS -H 'Accept-Encoding: br, gzip;q=0.5' "http://$addr/metrics?collect%5B%5D=loadavg" |
     zcat | grep -v '^#' | cut -d' ' -f1 | sort | tr '\n' ' ' | sed 's/ $//')"
curl -sS -D "$tmp/q0.head" -H 'Accept-Encoding: gzip;q=0, identity' "http://$addr/metrics" >"$tmp/q0"
check "gzip;q=0: plain text" bash -c "! grep -qi '^content-encoding' '$tmp/q0.head' && grep -q '^# TYPE' '$tmp/q0'"
# A kept page asked for again gets a sealed file beside it (sent with
# sendfile); a page replaced at the next reading takes its file along once
# its answers are out; a page served once gets none.
pages() { ls -l "/proc/$kotod_pid/fd" 2>/dev/null | grep -c 'memfd:koto-page'; }
burst() { curl -sS -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
  "http://$addr/metrics" "http://$addr/metrics" "http://$addr/metrics" "http://$addr/metrics"; }
burst
check "a page asked for again is in a sealed file" test "$(pages)" -ge 1
for _ in $(seq 10); do burst; sleep 0.2; done
check "and the files of the pages replaced are closed ($(pages) open)" test "$(pages)" -le 3
# Status pages asked for once each (a new one every 200 ms, asked every
# 600 ms): none gets a file (the cache would hold the last one's).
before=$(pages)
for _ in $(seq 5); do sleep 0.6; curl -sS -o /dev/null "http://$addr/api/agent/monitor/status"; done
expect_eq "a page served once has no file" "$before" "$(pages)"
# ?collect[]= as node_exporter's: only those collectors; an unknown one is a 400.
curl -sS "http://$addr/metrics?collect%5B%5D=loadavg&collect%5B%5D=time" >"$tmp/some"
expect_eq "collect[]=loadavg&collect[]=time: only those families" \
  "node_load1 node_load15 node_load5 node_time_seconds" \
  "$(grep -v '^#' "$tmp/some" | cut -d' ' -f1 | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "collect[]=nosuch is a 400" 400 \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/metrics?collect%5B%5D=nosuch")"

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
# Prometheus asks for OpenMetrics; a node_exporter query works as it did.
value=$(curl -sS "http://127.0.0.1:$port/api/v1/query?query=node_memory_MemTotal_bytes" |
  jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
expect_eq "PromQL node_memory_MemTotal_bytes returns the fixture's MemTotal" 16384000000 "$value"
health=$(curl -sS "http://127.0.0.1:$port/api/v1/targets" | jq -r '.data.activeTargets[0].health')
expect_eq "the scrape target is healthy" up "$health"
stop_kotod TERM
finish
