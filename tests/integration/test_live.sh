#!/usr/bin/env bash
# test_live.sh KOTOD - kotod --once on this machine agrees with free, df,
# nproc, uptime and ps; processes that end between two readings still
# count; a kotod with the default 30 s interval has CPU figures within a
# second or two of its start.
KOTOD=$1
. "$(dirname "$0")/lib.sh"

"$KOTOD" --once --once-delay 200 >"$tmp/once.json" || { not_ok "kotod --once runs"; finish; exit; }
ok "kotod --once runs"
j() { jq -r "$1" "$tmp/once.json"; }

expect_eq "ncpu matches nproc --all" "$(nproc --all)" "$(j .ncpu)"
expect_eq "memory total matches free" "$(free -b | awk '/^Mem:/ {print $2}')" "$(j .memory.total_bytes)"
# Available memory moves between the two commands; allow 64 MiB.
expect_near "available memory matches free" "$(free -b | awk '/^Mem:/ {print $7}')" \
  "$(j .memory.available_bytes)" 67108864
expect_eq "swap total matches free" "$(free -b | awk '/^Swap:/ {print $2}')" "$(j .memory.swap_total_bytes)"

root_size=$(df -B1 --output=size / | tail -1 | tr -d ' ')
expect_eq "/ size matches df" "$root_size" "$(j '.filesystems[] | select(.mount_point == "/") | .size_bytes')"
root_pct=$(df --output=pcent / | tail -1 | tr -d ' %')
expect_near "/ use% matches df (df rounds up)" "$root_pct" "$(j '.filesystems[] | select(.mount_point == "/") | .used_pct')" 1.01
check "no pseudo filesystem is listed" bash -c \
  "! jq -e '.filesystems[] | select(.fstype | test(\"^(proc|sysfs|cgroup2?|devpts|devtmpfs|squashfs)\$\"))' '$tmp/once.json'"

expect_near "uptime matches /proc/uptime" "$(cut -d' ' -f1 /proc/uptime)" "$(j .uptime_s)" 3
expect_near "load average matches uptime" "$(cut -d' ' -f1 /proc/loadavg)" "$(j '.load["1"]')" 0.5
# Processes come and go between the two commands.
expect_near "process count matches ps" "$(ps -e --no-headers | wc -l)" "$(j .processes.total)" 15
check "CPU shares add up to 100" bash -c \
  "jq -e '.cpu | (.user_pct + .nice_pct + .system_pct + .idle_pct + .iowait_pct + .irq_pct + .softirq_pct + .steal_pct) | (. > 99.9 and . < 100.1)' '$tmp/once.json'"
check "this shell is in the process list" bash -c "jq -e '.processes.all[] | select(.pid == $$)' '$tmp/once.json'"
check "no process with an unknown CPU share pads the top list" bash -c \
  "! jq -e '.processes.top_cpu[] | select(.cpu_pct == null)' '$tmp/once.json'"
check "no single-threaded process uses more than a core" bash -c \
  "! jq -e '.processes.all[] | select(.threads == 1 and .cpu_pct != null and .cpu_pct > 100)' '$tmp/once.json'"

# A build's way of using the CPU: one short process after another, none of
# them alive at a reading. What their parent reaped is what they used.
bash -c 'while :; do sh -c "i=0; while [ \$i -lt 20000 ]; do i=\$((i+1)); done"; done' &
churn=$!
"$KOTOD" --once --once-delay 1000 >"$tmp/churn.json"
kill "$churn"; wait "$churn" 2>/dev/null
check "processes that ended between the readings count (got $(jq .processes.exited.cpu_pct "$tmp/churn.json")%)" \
  jq -e '.processes.exited.cpu_pct >= 20' "$tmp/churn.json"
check "and name the parent that reaped the most" \
  jq -e '.processes.exited.parent_pid > 0 and (.processes.exited.parent_name | length > 0)' "$tmp/churn.json"

# Figures from the first second, whatever the interval (30 s by default).
start_kotod --listen 127.0.0.1:0 --state-dir "$tmp/state" -c /dev/null
if wait_log "dashboard at http://" 15; then
  base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
  deadline=$((SECONDS + 5))
  until st=$(curl -sS "$base/api/agent/monitor/status") &&
    jq -e '.snapshot.cpu.busy_pct != null' >/dev/null 2>&1 <<<"$st" || [ $SECONDS -ge $deadline ]; do
    sleep 0.1
  done
  check "CPU is known within seconds of the start at a 30 s interval" \
    jq -e '.snapshot.cpu.busy_pct != null and (.snapshot.processes.top_cpu | length > 0)' <<<"$st"
  stop_kotod TERM
else
  not_ok "kotod starts" "$(cat "$tmp/kotod.log")"
fi
finish
