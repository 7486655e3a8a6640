#!/usr/bin/env bash
# test_node_rules.sh KOTOD - dist/prometheus/node-alerts.yml (the node-mixin's
# alerts) against series recorded from kotod: `promtool check rules`, then
# `promtool test rules` whose input series carry the names and labels kotod
# served on the linux-basic fixture and start from its values, each alert
# given the trajectory that must fire it (a filesystem filling, errors on
# eth0, ...); and kotod's own memory figures, as recorded, fire
# NodeMemoryHighUtilization (the fixture is 94 % used); the conntrack table's
# recorded limit, filled to 80 %, fires NodeHighNumberConntrackEntriesUsed; and
# the dashboards' join of hwmon temperatures with their chip names works on
# the recorded node_hwmon_* series.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixture=$repo/tests/fixtures/linux-basic
rules=$repo/dist/prometheus/node-alerts.yml
. "$here/lib.sh"

check "promtool check rules dist/prometheus/node-alerts.yml" promtool check rules "$rules"

start_kotod --procfs "$fixture/t1" --sysfs "$fixture/sys" --rootfs "$fixture/root" \
  --listen 127.0.0.1:0 --interval 60000 --state-dir "$tmp/state"
wait_log "dashboard at http://" || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
addr=$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
curl -fsS "http://$addr/metrics" >"$tmp/koto.txt"
stop_kotod TERM

# rec PATTERN: the recorded samples whose "name{labels}" matches PATTERN (grep -E).
rec() { grep -E "^($1)([ {},])" "$tmp/koto.txt"; }
# series INSTANCE 'name{labels}': the selector with job and instance added.
series() {
  local s=$2
  case "$s" in
    *'{'*) echo "${s%%\{*}{job=\"node\",instance=\"$1\",${s#*\{}" ;;
    *) echo "$s{job=\"node\",instance=\"$1\"}" ;;
  esac
}
value() { rec "$1" | head -1 | awk '{ printf "%.17g\n", $NF }'; }
key() { rec "$1" | head -1 | sed 's/ [^ ]*$//'; }
# input SERIES VALUES: one input_series entry (single-quoted YAML).
input() { printf "      - series: '%s'\n        values: '%s'\n" "$1" "$2"; }

root_fs='node_filesystem_size_bytes\{[^}]*mountpoint="/"'
size=$(value "$root_fs")
files=$(value 'node_filesystem_files\{[^}]*mountpoint="/"')
fs_labels=$(key "$root_fs" | sed 's/^node_filesystem_size_bytes//')
for v in size files fs_labels; do
  [ -n "${!v}" ] || { not_ok "kotod served the root filesystem's $v" "$(grep filesystem "$tmp/koto.txt")"; finish; exit; }
done
ok "recorded from kotod: / is $fs_labels, $size bytes, $files inodes"

{
  echo "rule_files: ['$rules']"
  echo "evaluation_interval: 1m"
  echo "tests:"
  echo "  - interval: 1m"
  echo "    input_series:"
  # fill: 14 % available, losing 0.02 % of the disk a minute (gone within 24 h).
  input "$(series fill "node_filesystem_size_bytes$fs_labels")" "${size}x180"
  input "$(series fill "node_filesystem_readonly$fs_labels")" "0x180"
  awk -v s="$size" 'BEGIN { printf "%.0f-%.0fx180\n", s * 0.14, s * 0.0002 }' >"$tmp/v"
  input "$(series fill "node_filesystem_avail_bytes$fs_labels")" "$(cat "$tmp/v")"
  # full: 4 % available, steady.
  input "$(series full "node_filesystem_size_bytes$fs_labels")" "${size}x180"
  input "$(series full "node_filesystem_readonly$fs_labels")" "0x180"
  awk -v s="$size" 'BEGIN { printf "%.0fx180\n", s * 0.04 }' >"$tmp/v"
  input "$(series full "node_filesystem_avail_bytes$fs_labels")" "$(cat "$tmp/v")"
  # inodes: 35 % free, losing 0.05 % a minute.
  input "$(series inodes "node_filesystem_files$fs_labels")" "${files}x180"
  input "$(series inodes "node_filesystem_readonly$fs_labels")" "0x180"
  awk -v f="$files" 'BEGIN { printf "%.0f-%.0fx180\n", f * 0.35, f * 0.0005 }' >"$tmp/v"
  input "$(series inodes "node_filesystem_files_free$fs_labels")" "$(cat "$tmp/v")"
  # net: eth0 from its recorded counters, 5 % of packets in error.
  input "$(series net "$(key 'node_network_receive_packets_total\{device="eth0"')")" \
    "$(value 'node_network_receive_packets_total\{device="eth0"')+60000x180"
  input "$(series net "$(key 'node_network_receive_errs_total\{device="eth0"')")" \
    "$(value 'node_network_receive_errs_total\{device="eth0"')+3000x180"
  # clock: 60 ms off and drifting.
  input "$(series clock node_timex_offset_seconds)" "0.06+0.001x180"
  # cpu: every recorded CPU 95 % busy (user), and a load of 5 on them.
  rec 'node_cpu_seconds_total' | while read -r k v; do
    case "$k" in
      *'mode="user"'*) input "$(series cpu "$k")" "$v+57x180" ;;
      *'mode="idle"'*) input "$(series cpu "$k")" "$v+3x180" ;;
      *) input "$(series cpu "$k")" "${v}x180" ;;
    esac
  done
  input "$(series cpu node_load1)" "5x180"
  # koto: kotod's memory as recorded (94 % used), and its disk and page
  # fault counters given 15 s of queue a second and 1000 major faults a second.
  input "$(series koto node_memory_MemTotal_bytes)" "$(value node_memory_MemTotal_bytes)x180"
  input "$(series koto node_memory_MemAvailable_bytes)" "$(value node_memory_MemAvailable_bytes)x180"
  input "$(series koto node_vmstat_pgmajfault)" "$(value node_vmstat_pgmajfault)+60000x180"
  input "$(series koto "$(key 'node_disk_io_time_weighted_seconds_total\{device="vda"')")" \
    "$(value 'node_disk_io_time_weighted_seconds_total\{device="vda"')+900x180"
  # fd: the recorded allocated descriptors against a limit of 3000 (77 %).
  input "$(series fd node_filefd_allocated)" "$(value node_filefd_allocated)x180"
  input "$(series fd node_filefd_maximum)" "3000x180"
  # conntrack: the recorded table size, filled to 80 % (upstream's alert has no "for").
  limit=$(value node_nf_conntrack_entries_limit)
  input "$(series conntrack node_nf_conntrack_entries_limit)" "${limit}x180"
  awk -v l="$limit" 'BEGIN { printf "%.0fx180\n", l * 0.8 }' >"$tmp/v"
  input "$(series conntrack node_nf_conntrack_entries)" "$(cat "$tmp/v")"
  # hwmon: the temperatures and chip names as recorded, for the dashboards' join.
  rec 'node_hwmon_(temp_celsius|chip_names)' | while read -r k v; do
    input "$(series hwmon "$k")" "${v}x180"
  done
  cat <<'YML'
    promql_expr_test:
      # "Node Exporter Full"'s temperature panel: each sensor named by its chip.
      - expr: node_hwmon_temp_celsius{job="node",sensor="temp3"} * on(chip, instance) group_left(chip_name) node_hwmon_chip_names{job="node"}
        eval_time: 10m
        exp_samples:
          - { labels: '{chip="platform_coretemp_0",chip_name="coretemp",instance="hwmon",job="node",sensor="temp3"}', value: 101.5 }
      - expr: count by (alertname, severity, instance) (ALERTS{alertstate="firing"})
        eval_time: 120m
        exp_samples:
          - { labels: '{alertname="NodeFilesystemSpaceFillingUp",instance="fill",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeFilesystemAlmostOutOfSpace",instance="full",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeFilesystemFilesFillingUp",instance="inodes",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeNetworkReceiveErrs",instance="net",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeClockSkewDetected",instance="clock",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeCPUHighUsage",instance="cpu",severity="info"}', value: 1 }
          - { labels: '{alertname="NodeSystemSaturation",instance="cpu",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeMemoryHighUtilization",instance="koto",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeMemoryMajorPagesFaults",instance="koto",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeDiskIOSaturation",instance="koto",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeFileDescriptorLimit",instance="fd",severity="warning"}', value: 1 }
          - { labels: '{alertname="NodeHighNumberConntrackEntriesUsed",instance="conntrack",severity="warning"}', value: 1 }
      # Nothing fires before its "for" has run: at 5 minutes, only the one without.
      - expr: count by (alertname) (ALERTS{alertstate="firing"})
        eval_time: 5m
        exp_samples:
          - { labels: '{alertname="NodeHighNumberConntrackEntriesUsed"}', value: 1 }
YML
} >"$tmp/test.yml"
check "promtool test rules: each alert fires on kotod's series, and only those" \
  promtool test rules "$tmp/test.yml"
[ "$failed" -eq 0 ] || sed 's/^/     /' "$tmp/test.yml" | head -80
finish
