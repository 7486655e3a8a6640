#!/usr/bin/env bash
# test_node_exporter.sh KOTOD - kotod's node_* families against Debian's
# prometheus-node-exporter (1.5), both reading the same trees:
#   1. the linux-basic fixture (t1 as procfs, its sys/ and root/): every
#      series kotod serves exists in node_exporter's answer with the same
#      labels and the same value, and every series node_exporter has in a
#      family kotod serves is in kotod's (bind mounts excepted: kotod lists
#      a device once), with the same TYPE and HELP;
#   2. the live machine: the same, for the series that do not move between
#      two scrapes.
# node_exporter runs with the collectors kotod stands in for, upstream's
# default filters (Debian's package narrows them: no lo, no /run) and
# /proc/net/dev rather than netlink, on a free loopback port.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
fixture=$(cd "$here/../fixtures/linux-basic" && pwd)
. "$here/lib.sh"

ne_pid=""
trap 'kill_kotod; [ -n "$ne_pid" ] && kill -9 "$ne_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

command -v prometheus-node-exporter >/dev/null ||
  { not_ok "prometheus-node-exporter is installed (scripts/install-deps.sh)"; finish; exit; }

collectors=(cpu meminfo loadavg stat time timex processes filesystem netdev diskstats vmstat
  pressure uname os netstat sockstat filefd entropy netclass conntrack hwmon)
ne_args=(--collector.disable-defaults --no-collector.netdev.netlink
  "--collector.filesystem.mount-points-exclude=^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)(\$|/)"
  "--collector.netdev.device-exclude=^\$")
for c in "${collectors[@]}"; do ne_args+=("--collector.$c"); done

# start_ne ARGS...: node_exporter on a free port (a few tries at random); sets ne_addr.
start_ne() {
  for _ in 1 2 3 4 5; do
    local port=$((20000 + RANDOM % 40000))
    prometheus-node-exporter "${ne_args[@]}" "$@" --web.listen-address="127.0.0.1:$port" \
      >"$tmp/ne.log" 2>&1 &
    ne_pid=$!
    for _ in $(seq 50); do
      curl -fsS "http://127.0.0.1:$port/metrics" >/dev/null 2>&1 && { ne_addr=127.0.0.1:$port; return 0; }
      kill -0 "$ne_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$ne_pid" 2>/dev/null; wait "$ne_pid" 2>/dev/null; ne_pid=""
  done
  return 1
}
stop_ne() { kill "$ne_pid" 2>/dev/null; wait "$ne_pid" 2>/dev/null; ne_pid=""; }

start_koto() {
  start_kotod "$@" --listen 127.0.0.1:0 --interval 60000 --state-dir "$tmp/state"
  wait_log "dashboard at http://" || return 1
  koto_addr=$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
}

# compare NAME SKIP TOLERANT ALLOW_ABSENT: the two answers in $tmp/ne.txt and $tmp/koto.txt.
compare() {
  awk -v skip="$2" -v tolerant="$3" -v tolerance=0.01 -v allow_absent="$4" \
    -f "$here/node_compare.awk" "$tmp/ne.txt" "$tmp/koto.txt" >"$tmp/cmp.txt"
  local n
  n=$(sed -n 's/^compared //p' "$tmp/cmp.txt")
  if [ "$(grep -vc '^compared ' "$tmp/cmp.txt")" -eq 0 ] && [ "${n:-0}" -gt 0 ]; then
    ok "$1: $n series, same labels and values"
  else
    not_ok "$1: $n series compared" "$(grep -v '^compared ' "$tmp/cmp.txt" | sort | head -40)"
  fi
}

# ---- 1. the fixture --------------------------------------------------------------------
# Filesystem sizes come from statvfs under --rootfs, which is the build
# machine's disk: free space may move between the two answers (1 %).
rootfs="$fixture/root"
if start_ne --path.procfs="$fixture/t1" --path.sysfs="$fixture/sys" --path.rootfs="$rootfs"; then
  ok "node_exporter reads the fixture on $ne_addr"
  curl -fsS "http://$ne_addr/metrics" >"$tmp/ne.txt"
  stop_ne
  if start_koto --procfs "$fixture/t1" --sysfs "$fixture/sys" --rootfs "$rootfs"; then
    curl -fsS "http://$koto_addr/metrics" >"$tmp/koto.txt"
    # Not from the tree: the clock, uname (node_exporter asks the kernel).
    compare "fixture" '^node_(time_seconds|timex_|uname_info)' \
      '^node_filesystem_(free_bytes|avail_bytes|files_free)' 'mountpoint="/srv/bind"'
    for fam in node_cpu_seconds_total node_memory_MemAvailable_bytes node_filesystem_readonly \
      node_disk_io_time_weighted_seconds_total node_pressure_memory_waiting_seconds_total \
      node_vmstat_pgmajfault node_processes_state node_os_info node_network_receive_errs_total \
      node_network_receive_fifo_total node_network_transmit_colls_total node_netstat_Tcp_InSegs \
      node_sockstat_TCP_mem_bytes node_sockstat_TCP6_inuse node_filefd_maximum \
      node_entropy_available_bits node_netstat_Icmp6_InMsgs node_network_up node_network_info \
      node_network_speed_bytes node_network_mtu_bytes node_nf_conntrack_entries \
      node_nf_conntrack_entries_limit node_hwmon_temp_celsius node_hwmon_temp_max_celsius \
      node_hwmon_temp_crit_celsius node_hwmon_chip_names node_hwmon_sensor_label; do
      grep -q "^$fam" "$tmp/koto.txt" || not_ok "kotod serves $fam on the fixture"
    done
    # The chip named from its device's path, from its name file, and a sensor's label.
    for line in 'node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp3"} 101.5' \
      'node_hwmon_temp_crit_celsius{chip="acpitz",sensor="temp1"} 119' \
      'node_hwmon_sensor_label{chip="nvme_nvme0",label="Composite",sensor="temp1"} 1' \
      'node_nf_conntrack_entries 1843' 'node_nf_conntrack_entries_limit 262144'; do
      grep -qxF "$line" "$tmp/koto.txt" && ok "fixture: $line" || not_ok "fixture: $line"
    done
    # ?collect[]= names the new collectors; each answer holds its families only.
    fams() { curl -fsS "http://$koto_addr/metrics?$1" | grep -v '^#' | sed 's/[{ ].*//' | sort -u | tr '\n' ' '; }
    expect_eq "collect[]=conntrack: its two families only" \
      "node_nf_conntrack_entries node_nf_conntrack_entries_limit " "$(fams 'collect%5B%5D=conntrack')"
    expect_eq "collect[]=hwmon: node_hwmon_* only" "" \
      "$(fams 'collect%5B%5D=hwmon' | tr ' ' '\n' | grep -v '^node_hwmon_' | grep -v '^$')"
    expect_eq "collect[]=hwmon: its eight families" 8 \
      "$(fams 'collect%5B%5D=hwmon' | tr ' ' '\n' | grep -c '^node_hwmon_')"
    # OpenMetrics: the same families, gauges as they are, and # EOF.
    curl -fsS -H 'Accept: application/openmetrics-text;version=1.0.0' \
      "http://$koto_addr/metrics?collect%5B%5D=hwmon&collect%5B%5D=conntrack" >"$tmp/om.txt"
    expect_eq "OpenMetrics: hwmon and conntrack as gauges" \
      "# TYPE node_hwmon_temp_celsius gauge|# TYPE node_nf_conntrack_entries gauge" \
      "$(grep -xE '# TYPE node_(hwmon_temp_celsius|nf_conntrack_entries) gauge' "$tmp/om.txt" | sort | tr '\n' '|' | sed 's/|$//')"
    expect_eq "OpenMetrics: the filtered answer ends with # EOF" "# EOF" "$(tail -1 "$tmp/om.txt")"
    curl -fsS "http://$koto_addr/metrics?collect%5B%5D=hwmon&collect%5B%5D=conntrack" >"$tmp/lint.txt"
    if command -v promtool >/dev/null; then
      expect_eq "promtool check metrics: nothing to say of hwmon and conntrack" "" \
        "$(promtool check metrics <"$tmp/lint.txt" 2>&1)"
    fi
    stop_kotod TERM
  else
    not_ok "kotod starts on the fixture" "$(tail -5 "$tmp/kotod.log")"
  fi
else
  not_ok "node_exporter starts on the fixture" "$(tail -5 "$tmp/ne.log")"
fi

# ---- 1b. the files read per page --------------------------------------------------------
# sockstat and the others are read as a page is made, at most every 15 s:
# a page made sooner serves what the last read found; a filtered one reads.
cp -r "$fixture/t1" "$tmp/proc"
if start_koto --procfs "$tmp/proc" --sysfs "$fixture/sys" --rootfs "$rootfs"; then
  used() { curl -fsS "http://$koto_addr/metrics$1" | sed -n 's/^node_sockstat_sockets_used //p'; }
  first=$(used "")
  expect_eq "sockstat: the page serves the file" "217" "$first"
  sed -i 's/^sockets: used .*/sockets: used 99/' "$tmp/proc/net/sockstat"
  expect_eq "sockstat: a filtered answer reads the file" "99" "$(used '?collect[]=sockstat')"
  expect_eq "sockstat: the page within 15 s serves the last read" "$first" "$(used "")"
  stop_kotod TERM
else
  not_ok "kotod starts on a copy of the fixture" "$(tail -5 "$tmp/kotod.log")"
fi

# ---- 2. the live machine ------------------------------------------------------------------
# What moves between two answers is left out: counters, load, free space,
# memory in use, processes, the clock's estimates.
moving='^node_(cpu_seconds_total|memory_|load|context_switches|forks|intr|procs_|processes_|time_seconds|timex_(offset|maxerror|estimated|frequency)|network_(receive|transmit)_|disk_|vmstat_|pressure_|filesystem_(free|avail|files_free)|netstat_|sockstat_|filefd_allocated|entropy_available|nf_conntrack_entries$|hwmon_temp_(celsius|input))'
steady='^node_memory_(MemTotal|SwapTotal|Hugepagesize|HugePages_Total)_?'
if start_ne; then
  ok "node_exporter reads this machine"
  curl -fsS "http://$ne_addr/metrics" >"$tmp/ne.txt"
  stop_ne
  if start_koto; then
    curl -fsS "http://$koto_addr/metrics" >"$tmp/koto.txt"
    compare "this machine, what does not move" "$moving" '' 'mountpoint='
    # And the steady parts of the moving families: the same series exist.
    for fam in node_cpu_seconds_total node_network_receive_bytes_total node_disk_reads_completed_total; do
      a=$(grep "^$fam{" "$tmp/ne.txt" | sed 's/ [^ ]*$//' | sort)
      b=$(grep "^$fam{" "$tmp/koto.txt" | sed 's/ [^ ]*$//' | sort)
      missing=$(comm -13 <(echo "$a") <(echo "$b"))
      [ -z "$missing" ] && ok "this machine: every $fam series kotod serves, node_exporter has" ||
        not_ok "this machine: $fam series node_exporter lacks" "$missing"
    done
    grep -E "$steady" "$tmp/koto.txt" | grep -v '^#' >"$tmp/steady.txt"
    expect_eq "this machine: MemTotal and the other steady meminfo fields agree" \
      "$(grep -E "$steady" "$tmp/ne.txt" | grep -v '^#' | sort)" "$(sort "$tmp/steady.txt")"
    stop_kotod TERM
  else
    not_ok "kotod starts" "$(tail -5 "$tmp/kotod.log")"
  fi
else
  not_ok "node_exporter starts" "$(tail -5 "$tmp/ne.log")"
fi
finish
