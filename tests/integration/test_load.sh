#!/usr/bin/env bash
# test_load.sh KOTOD - kotod under concurrent load: live streams open while
# readings raise events every 100 ms, reloads come by API and by SIGHUP,
# clients hammer status, metrics, events and the tools, and kotod is stopped
# in the middle of it all. It must answer throughout, stop cleanly, and (in
# the ThreadSanitizer build, ./build.sh tsan) report no race or lock-order
# inversion: TSan's reports fail kotod's exit status and land in the log.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

# A thresholds file that makes events come and go: CPU from the fixture's
# two trees alternates, so cpu_high starts and resolves over and over.
cat >"$tmp/koto.conf.lua" <<'LUA'
thresholds = { cpu = { threshold = 1, clear_margin = 0.5, hold_samples = 1 },
               memory = { threshold = 1, clear_margin = 0.5, hold_samples = 1 } }
LUA
cp -r "$repo/tests/fixtures/linux-basic/t0" "$tmp/proc"
export TSAN_OPTIONS="${TSAN_OPTIONS:-} exitcode=66 halt_on_error=0"
start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$repo/tests/fixtures/linux-basic/sys" \
  --listen 127.0.0.1:0 --interval 100 --state-dir "$tmp/state" --web-dir "$repo/web"
if ! wait_log "dashboard at http://" 30; then
  not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit
fi
addr=$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
base="http://$addr"
auth="Authorization: Bearer $(cat "$tmp/state/token")"
ok "kotod serves on $addr"

# The readings move: the procfs copy flips between the fixture's two trees.
flip() {
  local i=0
  while [ -e "$tmp/flip" ]; do
    cp "$repo/tests/fixtures/linux-basic/t$((i % 2))/stat" "$tmp/proc/stat.new" &&
      mv "$tmp/proc/stat.new" "$tmp/proc/stat"
    i=$((i + 1)); sleep 0.07
  done
}
streams=()
for i in 1 2 3 4 5 6; do
  curl -sN -m 30 "$base/api/agent/monitor/stream" >"$tmp/sse.$i" 2>/dev/null & streams+=($!)
done
# The readings move once every stream has had one: cpu_high starts with the
# first flip and stays (a flip back makes the counters go backwards: no
# share), so a stream that connected after it would have no event at all.
connected() {
  local i
  for i in 1 2 3 4 5 6; do grep -q '^event: sample' "$tmp/sse.$i" 2>/dev/null || return 1; done
}
deadline=$((SECONDS + 20))
until connected || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
touch "$tmp/flip"; flip & flipper=$!
clients=()
for i in 1 2 3; do
  ( end=$((SECONDS + 4))
    while [ $SECONDS -lt $end ]; do
      curl -s -o /dev/null "$base/api/agent/monitor/status" "$base/metrics" \
        "$base/api/agent/monitor/events?limit=50" "$base/api/agent/history?metric=cpu"
      curl -s -o /dev/null -X POST -d '{"limit": 5}' "$base/api/agent/tools/get_system_anomalies"
    done ) & clients+=($!)
done
reloads=0 bad=""
end=$((SECONDS + 4))
while [ $SECONDS -lt $end ]; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$auth" "$base/api/agent/reload")
  if [ "$code" = 200 ]; then reloads=$((reloads + 1)); else bad+=" $code"; fi
  kill -HUP "$kotod_pid"
  curl -s -o /dev/null -X POST -H "$auth" "$base/api/agent/monitor/stop"
  curl -s -o /dev/null -X POST -H "$auth" "$base/api/agent/monitor/start"
  sleep 0.1
done
wait "${clients[@]}"
expect_eq "every reload by API answered 200 under load" "yes" "$([ $reloads -ge 1 ] && echo yes)$bad"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$base/healthz")
expect_eq "kotod still answers" 200 "$code"

# Stop with the streams still open.
stop_kotod TERM
rm -f "$tmp/flip"; wait "$flipper"
wait "${streams[@]}" 2>/dev/null
expect_eq "kotod stops cleanly with streams open (66: ThreadSanitizer reported)" 0 "$kotod_rc"
check "no ThreadSanitizer report in the log" bash -c "! grep -q 'WARNING: ThreadSanitizer' '$tmp/kotod.log'"
events=0
for i in 1 2 3 4 5 6; do
  n=$(grep -c '^event: event' "$tmp/sse.$i")
  [ "$n" -gt 0 ] && [ "$(grep -c '^event: sample' "$tmp/sse.$i")" -gt 5 ] && events=$((events + 1))
done
expect_eq "every stream got samples and events" 6 "$events"
ids_ok=0
for i in 1 2 3 4 5 6; do
  sed -n 's/^id: //p' "$tmp/sse.$i" | sort -nc 2>/dev/null && ids_ok=$((ids_ok + 1))
done
expect_eq "each stream's event ids strictly increase" 6 "$ids_ok"
grep 'WARNING: ThreadSanitizer' -A30 "$tmp/kotod.log" | head -80
if [ "$failed" -gt 0 ]; then # what a failure on a loaded CI machine needs to be understood
  for i in 1 2 3 4 5 6; do
    echo "     stream $i: $(grep -c '^event: event' "$tmp/sse.$i") events, $(grep -c '^event: sample' "$tmp/sse.$i") samples"
  done
  echo "     reloads answered 200: $reloads;${bad:+ other answers:$bad}"
  tail -25 "$tmp/kotod.log" | sed 's/^/     log: /'
fi
finish
