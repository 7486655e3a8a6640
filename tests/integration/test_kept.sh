#!/usr/bin/env bash
# test_kept.sh KOTOD - kept_descriptors from koto.conf.lua reaches the
# platform: kotod on the live /proc keeps at most that many /proc files
# open, and by default one per process; the setting is listed and checked.
KOTOD=$1
. "$(dirname "$0")/lib.sh"

check "--help-config lists kept_descriptors" bash -c "'$KOTOD' --help-config | grep -q '^kept_descriptors .*restart to change'"

# proc_fds PID: how many of its descriptors name a file below /proc/ (the
# procfs root directory itself, /proc, is not counted).
proc_fds() {
  local n=0 fd target
  for fd in /proc/"$1"/fd/*; do
    target=$(readlink "$fd" 2>/dev/null) || continue
    [[ $target == /proc/* ]] && n=$((n + 1))
  done
  echo "$n"
}

# run_kotod CONF: kotod on the live /proc, 100 ms between readings; waits for
# a few readings. Sets base.
run_kotod() {
  printf '%s\n' "$1" >"$tmp/koto.conf.lua"
  start_kotod -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --interval 100 --state-dir "$tmp/state"
  if ! wait_log "dashboard at http://"; then
    not_ok "kotod starts with: $1" "$(cat "$tmp/kotod.log")"
    finish
    exit
  fi
  base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
  sleep 0.6
}

run_kotod "kept_descriptors = 5"
kept=$(proc_fds "$kotod_pid")
check "a budget of 5 keeps at most 5 /proc files open (has $kept)" test "$kept" -le 5
check "...and keeps some" test "$kept" -ge 1
expect_eq "GET /api/agent/config shows the budget" "5 false" \
  "$(curl -sS "$base/api/agent/config" | jq -r '.settings[] | select(.key == "kept_descriptors") | "\(.value) \(.reloadable)"')"
procs=$(curl -sS "$base/api/agent/monitor/status" | jq '.snapshot.processes.total')
check "every process is still read ($procs)" test "$procs" -ge 10
stop_kotod TERM
expect_eq "stops cleanly" 0 "$kotod_rc"

run_kotod "-- the default"
kept=$(proc_fds "$kotod_pid")
procs=$(ls -d /proc/[0-9]* | wc -l)
# Processes come and go between the two counts.
check "by default a /proc file per process is kept ($kept kept, $procs processes)" \
  test "$kept" -ge $((procs - 15))
stop_kotod TERM
expect_eq "stops cleanly" 0 "$kotod_rc"

printf 'kept_descriptors = 0\n' >"$tmp/koto.conf.lua"
"$KOTOD" -t -c "$tmp/koto.conf.lua" --state-dir "$tmp/state" 2>"$tmp/err"
expect_eq "-t refuses kept_descriptors = 0" 1 "$?"
check "...naming the file and line" grep -q 'koto.conf.lua:1: kept_descriptors' "$tmp/err"
finish
