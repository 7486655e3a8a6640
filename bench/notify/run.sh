#!/usr/bin/env bash
# bench/notify/run.sh - what notifications cost, on loopback:
#   1. event to webhook receiver: kotod reads a fixture procfs every 100 ms;
#      the memory is moved past its threshold and back N times; for each
#      event, the receiver's arrival time less the event's time (the reading
#      that raised it): p50, p99, max. The event's time is taken before the
#      reading, so this includes the reading, the detectors, the store's
#      commit, the notifier's queue, libcurl and the receiver's accept;
#   2. the sampler with a receiver that hangs: the mean of
#      koto_sample_duration_seconds over S scrapes, without any channel and
#      with one whose receiver never answers, in one run each;
#   3. 10 000 queued notifications (receiver down): kotod's RSS before and
#      after queuing them (POST /api/agent/notify/test, one connection).
# Numbers, not pass/fail: exits 0 whether or not the goals are met (p99 <=
# 20 ms, sampler <= 1.05x, <= 2 MiB for 10 000 queued).
#
#   bench/notify/run.sh [-n EVENTS] [-q QUEUED] [-k KOTOD]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
N=100
Q=10000
KOTOD=""
while getopts "n:q:k:" o; do
  case $o in
    n) N=$OPTARG ;; q) Q=$OPTARG ;; k) KOTOD=$OPTARG ;;
    *) echo "usage: $0 [-n EVENTS] [-q QUEUED] [-k KOTOD]" >&2; exit 2 ;;
  esac
done
if [ -z "$KOTOD" ]; then
  build=${BUILD_DIR:-/tmp/bench-notify-build}
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DKT_TESTS=OFF >/dev/null
  cmake --build "$build" --target kotod -j2 >/dev/null
  KOTOD=$build/kotod
fi
tmp=$(mktemp -d)
pids=()
kotod_pid=""
cleanup() {
  [ -n "$kotod_pid" ] && kill "$kotod_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
  true
}
trap cleanup EXIT
fixture="$root/tests/fixtures/linux-basic"
cp -r "$fixture/t0" "$tmp/proc"
mem() { sed "s/^MemAvailable:.*/MemAvailable:   $1 kB/" "$fixture/t0/meminfo" >"$tmp/m.new" && mv "$tmp/m.new" "$tmp/proc/meminfo"; }
mem 8000000
. "$here/../lib.sh" # free_port
receiver() { # NAME ARGS: port in $port
  rm -f "$tmp/$1.port"; : >"$tmp/$1.log"
  python3 "$root/tests/integration/webhook_receiver.py" "$tmp/$1.port" "$tmp/$1.log" "${@:2}" &
  pids+=($!)
  while [ ! -s "$tmp/$1.port" ]; do sleep 0.05; done
  port=$(cat "$tmp/$1.port")
}
conf() { # NOTIFY_LIST
  cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               process_memory = { enabled = false }, disk = { enabled = false } }
flapping = { window = 0 }
notify = { $1 }
LUA
}
start() {
  rm -rf "$tmp/state"
  "$KOTOD" -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" --listen 127.0.0.1:0 \
    --interval "${1:-100}" --state-dir "$tmp/state" 2>"$tmp/kotod.log" &
  kotod_pid=$!
  until grep -q "dashboard at" "$tmp/kotod.log"; do sleep 0.05; done
  base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
}
stop() { kill "$kotod_pid"; wait "$kotod_pid" 2>/dev/null || true; kotod_pid=""; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$kotod_pid/status"; }

echo "## Notifications ($(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo

# ---- 1. event to receiver -------------------------------------------------------------
receiver fast
conf "{ name = \"fast\", kind = \"webhook\", url = \"http://127.0.0.1:$port/hook\" }"
start 100
for ((i = 0; i < N; i++)); do
  if ((i % 2)); then mem 8000000; else mem 1000000; fi
  sleep 0.3
done
sleep 1
stop
python3 - "$tmp/fast.log" <<'PY'
import json, sys
lat = sorted((e["t"] * 1000 - e["body"]["data"]["event"]["time"]) for e in map(json.loads, open(sys.argv[1]))
             if e["body"]["type"].startswith("koto.event."))
n = len(lat)
pick = lambda q: lat[min(n - 1, int(q * n))]
print("| events | p50 | p99 | max | goal |")
print("| --- | --- | --- | --- | --- |")
print(f"| {n} | {pick(0.5):.1f} ms | {pick(0.99):.1f} ms | {lat[-1]:.1f} ms | p99 <= 20 ms |")
PY
echo

# ---- 2. the sampler with a hanging receiver ---------------------------------------------
scrape_mean() { # S scrapes, a reading apart
  local sum=0 n=0 v
  for ((k = 0; k < 60; k++)); do
    v=$(curl -s "$base/metrics" | awk '/^koto_sample_duration_seconds / {print $2}')
    [ -n "$v" ] && { sum=$(awk -v a="$sum" -v b="$v" 'BEGIN {print a + b}'); n=$((n + 1)); }
    sleep 0.1
  done
  awk -v s="$sum" -v n="$n" 'BEGIN {printf "%.3f", s / n * 1000}'
}
mem 1000000
conf ""
start 100
quiet=$(scrape_mean)
stop
receiver hang --hang
conf "{ name = \"hang\", kind = \"webhook\", url = \"http://127.0.0.1:$port/hook\", timeout_ms = 300000 }"
start 100
for ((i = 0; i < 10; i++)); do if ((i % 2)); then mem 8000000; else mem 1000000; fi; sleep 0.3; done
hung=$(scrape_mean)
stop
echo "| sampler's reading | no channel | a receiver that hangs | ratio | goal |"
echo "| --- | --- | --- | --- | --- |"
echo "| mean of 60 scrapes | $quiet ms | $hung ms | $(awk -v a="$hung" -v b="$quiet" 'BEGIN {printf "%.2f", a / b}')x | <= 1.05x |"
echo

# ---- 3. 10 000 queued, the receiver down ---------------------------------------------------
mem 8000000
down=$(free_port)
conf "{ name = \"down\", kind = \"webhook\", url = \"http://127.0.0.1:$down/hook\", backoff_ms = 600000, backoff_max_ms = 600000 }"
start 1000
sleep 2
before=$(rss_kib)
token=$(cat "$tmp/state/token")
python3 - "$base" "$token" "$Q" <<'PY'
import http.client, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port)
for i in range(int(sys.argv[3])):
    c.request("POST", "/api/agent/notify/test", body='{"channel":"down"}',
              headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status != 200:
        sys.exit(f"answer {r.status}")
PY
until [ "$(curl -s "$base/api/agent/notify" | jq '.channels[0].queued')" -ge "$Q" ]; do sleep 0.5; done
sleep 2
after=$(rss_kib)
stop
echo "| queued (receiver down) | RSS before | RSS after | growth | goal |"
echo "| --- | --- | --- | --- | --- |"
echo "| $Q | $before KiB | $after KiB | $(((after - before))) KiB | <= 2048 KiB |"
