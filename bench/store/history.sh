#!/usr/bin/env bash
# bench/store/history.sh - what the history costs a real kotod, in one run:
#   1. bytes per stored point: kotod with the store at a 1 s interval for
#      MINUTES minutes; the pages of the chunks table (every tier, read with
#      SQLite's dbstat) over the raw points stored (each series' readings);
#      so the coarse tiers' bytes are charged to the raw points too;
#   2. CPU per reading: the same build twice side by side over the same
#      minutes, one with store = true, one with store = false; CPU time
#      (utime + stime from /proc/PID/stat) of each, and their ratio.
# Prints a markdown table on stdout, progress on stderr. Numbers, not
# pass/fail (goals: <= 3 B/point for the raw tier, CPU ratio <= 1.15).
#
#   bench/store/history.sh [-m MINUTES] [-i MS] [-k KOTOD]
#     -m  minutes to run (default 10)
#     -i  interval between readings (default 1000)
#     -k  the kotod binary (default build/kotod)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../lib.sh" # free_port
minutes=10 interval=1000 kotod=$root/build/kotod
while getopts "m:i:k:" o; do
  case $o in
    m) minutes=$OPTARG ;; i) interval=$OPTARG ;; k) kotod=$OPTARG ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
  esac
done
command -v sqlite3 >/dev/null || { echo "needs sqlite3" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

start() { # name, store (true|false), port
  mkdir -p "$tmp/$1"
  printf 'store = %s\n' "$2" >"$tmp/$1/koto.conf.lua"
  (exec "$kotod" -c "$tmp/$1/koto.conf.lua" --lua-dir "$root/lua" --state-dir "$tmp/$1" \
     --listen "127.0.0.1:$3" --interval "$interval" --log-level warn 2>"$tmp/$1/log") &
  pids+=($!)
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

start with true "$(free_port)"
start without false "$(free_port)"
sleep 2
a0=$(cpu_ticks "${pids[0]}") b0=$(cpu_ticks "${pids[1]}")
echo "running both for $minutes min at ${interval} ms..." >&2
sleep $((minutes * 60))
a1=$(cpu_ticks "${pids[0]}") b1=$(cpu_ticks "${pids[1]}")
kill -TERM "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
db=$tmp/with/koto.db
read -r series points blob <<<"$(sqlite3 -separator ' ' "$db" \
  "SELECT count(DISTINCT series), sum(n), sum(length(data)) FROM chunks WHERE tier = 0")"
pages=$(sqlite3 "$db" "SELECT sum(pgsize) FROM dbstat WHERE name IN ('chunks', 'chunks_age')")
file=$(stat -c %s "$db")
with=$((a1 - a0)) without=$((b1 - b0))
printf '| figure | value |\n|---|---|\n'
printf '| minutes at %s ms | %s |\n' "$interval" "$minutes"
printf '| series | %s |\n' "$series"
printf '| raw points stored | %s |\n' "$points"
printf '| raw chunk data, bytes per point | %s |\n' "$(awk -v a="$blob" -v b="$points" 'BEGIN { printf "%.2f", a / b }')"
printf '| chunks table and index pages (all tiers), bytes per raw point | %s |\n' "$(awk -v a="$pages" -v b="$points" 'BEGIN { printf "%.2f", a / b }')"
printf '| koto.db file, bytes per raw point | %s |\n' "$(awk -v a="$file" -v b="$points" 'BEGIN { printf "%.2f", a / b }')"
printf '| CPU ticks with the store | %s |\n' "$with"
printf '| CPU ticks without | %s |\n' "$without"
printf '| CPU ratio | %s |\n' "$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
