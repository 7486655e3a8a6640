#!/usr/bin/env bash
# test_live.sh KOTOD - kotod --once on this machine agrees with free, df,
# nproc, uptime and ps.
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
finish
