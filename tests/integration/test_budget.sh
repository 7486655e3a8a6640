#!/usr/bin/env bash
# test_budget.sh KOTOD - kotod watching itself on the live /proc: the pages
# only its start used given back, its RSS and CPU in the status and /metrics
# (checked against /proc/PID), a memory budget it cannot meet raising
# koto_over_budget with its evidence and shedding the per-core series from
# the store, a reload with a budget it meets resolving it, and a CPU budget
# judged over a window of readings.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

conf() { printf '%s\n' "$@" >"$tmp/koto.conf.lua"; chmod 600 "$tmp/koto.conf.lua"; }
conf "thresholds = { cpu = { enabled = false }, cpu_spike = { enabled = false }," \
     "               memory = { enabled = false }, disk = { enabled = false } }" \
     "budget_rss_mb = 1"
start_kotod -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --interval 100 --state-dir "$tmp/state"
wait_log "dashboard at http://" 15 || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
status() { curl -sS "$base/api/agent/monitor/status"; }
# until_jq SECONDS FILTER: polls the status until FILTER holds
until_jq() {
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    status | jq -e "$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# ---- kotod's own figures ------------------------------------------------------------
check "kotod finds itself in its readings" until_jq 10 '.health.self.rss_bytes > 0'
# At its second reading it unmaps the code pages only its start ran; every
# check below runs after that.
check "kotod gives back the pages only its start used" \
  wait_log "released [1-9][0-9]* KiB of memory only the start used" 10
# After the release the RSS climbs back for a while as pages are touched
# again (for longer under AddressSanitizer), so a reading and /proc read up to
# an interval later can differ by more than the tolerance: compare once
# the two agree or 10 s have passed, and report the last pair.
deadline=$((SECONDS + 10))
while :; do
  rss=$(status | jq '.health.self.rss_bytes')
  proc_rss=$(( $(awk '/^VmRSS:/ { print $2 }' "/proc/$kotod_pid/status") * 1024 ))
  d=$((proc_rss - rss))
  [ "${d#-}" -le 2097152 ] || [ $SECONDS -ge $deadline ] && break
  sleep 0.1
done
expect_near "its RSS is what /proc says (within 2 MiB)" "$proc_rss" "$rss" 2097152
expect_eq "the budget is as set" 1048576 "$(status | jq '.health.self.budget_rss_bytes')"

# ---- over its memory budget ----------------------------------------------------------------
check "1 MiB is too little: koto_over_budget starts" \
  until_jq 10 '.health.active[] | select(.type == "koto_over_budget" and .subject == "kotod")'
s=$(status)
expect_eq "status says over budget and shedding" "true true" \
  "$(jq -r '"\(.health.self.over_budget) \(.health.self.shedding)"' <<<"$s")"
expect_eq "many times the budget is high" high \
  "$(jq -r '.health.active[] | select(.type == "koto_over_budget") | .severity' <<<"$s")"
msg=$(curl -sS "$base/api/agent/monitor/events?event_type=koto_over_budget" | jq -r '.events[0].message')
check "the event says what kotod uses and holds" \
  grep -Eq '^kotod uses [0-9.]+ MiB \(budget 1 MiB\) .*it reads [0-9]+ processes.*keeps [0-9]+ readings' <<<"$msg"
check "and that it sheds" grep -q 'aggregate series only' <<<"$msg"
metrics=$(curl -sS "$base/metrics")
check "/metrics: process_resident_memory_bytes" grep -Eq '^process_resident_memory_bytes [1-9]' <<<"$metrics"
check "/metrics: process_cpu_seconds_total" grep -Eq '^process_cpu_seconds_total [0-9.e+-]+$' <<<"$metrics"
check "/metrics: koto_shedding 1" grep -qx 'koto_shedding 1' <<<"$metrics"
check "/metrics: the condition is active" \
  grep -qx 'koto_active_conditions{type="koto_over_budget"} 1' <<<"$metrics"
# While shedding the store records the aggregate CPU series, and each
# core's no longer (it has only the readings before the hold-down ended).
sleep 10 # the sampler hands the history to the store every 8 s
series=$(curl -sS "$base/api/agent/history/series")
check "the aggregate CPU series goes on, the per-core one stopped (5 s behind or more)" \
  jq -e '([.series[] | select(.metric == "cpu")][0].last) - ([.series[] | select(.metric == "cpu:0")][0].last // 0) > 5000' <<<"$series"

# While shedding, every second reading leaves the process scan out and
# carries the table over; a scan's CPU shares are over the time since the
# scan before, not one interval. One busy thread among four sleeping: a
# share over one interval would show it near 200 %, below the 400 % cap.
python3 -c '
import threading, time
for _ in range(3): threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
while True: pass' &
busy=$!
ticks() { awk '{ print $14 + $15 }' "/proc/$busy/stat"; }
sleep 0.3
t0=$(ticks) s0=$(date +%s%N)
readings=""; shares=""
for i in $(seq 40); do
  s=$(status)
  readings+="$(jq -r '"\(.snapshot.seq) \(.snapshot.processes.carried)"' <<<"$s")"$'\n'
  shares+="$(jq -r --argjson pid "$busy" 'select(.snapshot.processes.carried == false) |
    [.snapshot.processes.top_cpu[] | select(.pid == $pid) | .cpu_pct][0] // empty' <<<"$s")"$'\n'
  sleep 0.07
done
t1=$(ticks) s1=$(date +%s%N)
kill "$busy" 2>/dev/null
carried=$(sort -un <<<"$readings" | awk 'NF { printf "%s ", $2 }')
# Two carried readings with consecutive numbers would be two skipped scans.
twice=$(sort -un <<<"$readings" | awk 'NF { if ($2 == "true" && last == "true" && $1 == seq + 1) print $1; seq = $1; last = $2 }')
true_pct=$(awk -v d="$((t1 - t0))" -v ns="$((s1 - s0))" 'BEGIN { print 100 * d / 100 / (ns / 1e9) }')
mean=$(awk 'NF { s += $1; n++ } END { print n ? s / n : 0 }' <<<"$shares")
check "readings alternate: processes scanned" grep -q false <<<"$carried"
check "and carried from the reading before" grep -q true <<<"$carried"
expect_eq "never two carried in a row ($carried)" "" "$twice"
check "the busy thread is seen at the scans" awk -v v="$mean" 'BEGIN { exit !(v > 10) }'
check "its share is over the time since the last scan (scans say $mean %, /proc $true_pct %)" \
  awk -v v="$mean" -v t="$true_pct" 'BEGIN { exit !(v < 1.4 * t + 5 && v > 0.6 * t - 5) }'
check "and the event says the processes are scanned every second reading" \
  grep -q 'processes are scanned every second reading' <<<"$msg"

# ---- back within budget after a reload ------------------------------------------------------
conf "thresholds = { cpu = { enabled = false }, cpu_spike = { enabled = false }," \
     "               memory = { enabled = false }, disk = { enabled = false } }" \
     "budget_rss_mb = 4096" "budget_cpu_pct = 0"
kill -HUP "$kotod_pid"
check "a budget it meets resolves it" until_jq 10 '[.health.active[] | select(.type == "koto_over_budget")] | length == 0'
check "and it stops shedding" until_jq 5 '.health.self.shedding == false'
# The reading that first says so was taken while kotod still shed, so it
# may be carried; every one after it scans.
calm=$(status | jq .snapshot.seq)
check "every reading after it scans the processes again" bash -c \
  "for i in \$(seq 20); do curl -sS '$base/api/agent/monitor/status' | jq -e '.snapshot.seq > $calm and .snapshot.processes.carried' >/dev/null && exit 1; sleep 0.05; done"

check "the resolution is logged" bash -c \
  "curl -sS '$base/api/agent/monitor/events?event_type=koto_over_budget' | jq -e '[.events[] | select(.state == \"resolved\")] | length == 1'"
check "per-core series are recorded again" bash -c \
  "for i in \$(seq 150); do curl -sS '$base/api/agent/history/series' | jq -e '.series[] | select(.metric == \"cpu:0\")' >/dev/null && exit 0; sleep 0.1; done; exit 1"

# ---- the CPU side, over a window of readings -------------------------------------------------
conf "thresholds = { cpu = { enabled = false }, cpu_spike = { enabled = false }," \
     "               memory = { enabled = false }, disk = { enabled = false } }" \
     "budget_rss_mb = 0" "budget_cpu_pct = 0.000001"
kill -HUP "$kotod_pid"
check "its CPU over the window is known" until_jq 10 '.health.self.cpu_pct > 0'
check "a CPU budget it cannot meet starts koto_over_budget" \
  until_jq 10 '.health.active[] | select(.type == "koto_over_budget")'

check "kotod still serves" curl -sf "$base/healthz"
finish
