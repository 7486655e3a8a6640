#!/usr/bin/env bash
# test_check_cmdline.sh KOTOD - process checks by a pattern on the command
# line, on the live /proc: two workers whose argv[0] names them (their short
# name stays "sleep"), one killed, one started again; a pattern nothing
# matches is down at once; the reading keeps each process's line (one read
# of <pid>/cmdline per process, not per reading).
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

worker() { (exec -a koto-probe-worker sleep 300) >/dev/null 2>&1 & echo $!; }
w1=$(worker)
w2=$(worker)
trap 'kill $w1 $w2 $w3 2>/dev/null; kill_kotod; rm -rf "$tmp"' EXIT
cat >"$tmp/koto.conf.lua" <<'LUA'
store = false
thresholds = { cpu = { enabled = false }, cpu_spike = { enabled = false },
               memory = { enabled = false }, disk = { enabled = false } }
checks = {
  { name = "workers", cmdline = "koto-probe-worker *", min = 2 },
  { name = "both", process = "sleep", cmdline = "koto-probe-worker 300", min = 1 },
  { name = "ghost", cmdline = "*no-such-koto-[thing]*", min = 1 },
}
LUA
start_kotod -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --interval 200 --state-dir "$tmp/state"
wait_log "dashboard at http://" 15 || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
events() { curl -sS "$base/api/agent/monitor/events?limit=1000"; }
# wait_for JQ [SECONDS]: until the event log satisfies it
wait_for() {
  local deadline=$((SECONDS + ${2:-10}))
  while [ $SECONDS -lt $deadline ]; do
    events | jq -e "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}
down() { echo "[.events[] | select(.type == \"process_down\" and .subject == \"$1\" and .state == \"$2\")] | length >= 1"; }

if wait_for "$(down ghost started)"; then ok "a pattern nothing matches is down"
else not_ok "a pattern nothing matches is down" "$(events)"; fi
msg=$(events | jq -r '[.events[] | select(.subject == "ghost")][0].message')
expect_eq "its message names the pattern" "check ghost: no process matching *no-such-koto-[thing]* runs (at least 1 wanted)" "$msg"
sleep 1 # five readings
expect_eq "two workers matched by their command line: no event" 0 \
  "$(events | jq '[.events[] | select(.subject == "workers" or .subject == "both")] | length')"

kill "$w1" # not reaped: a zombie, which keeps its name and line but runs no more
if wait_for "$(down workers started)"; then ok "one worker killed: workers is down"
else not_ok "one worker killed: workers is down" "$(events)"; fi
ev=$(events | jq '[.events[] | select(.subject == "workers")][0]')
check "the event says one process matched" bash -c "jq -e '.message | test(\"1 process matching koto-probe-worker \\\\* runs\")' <<<'$ev'"
expect_eq "its evidence is the worker left" "$w2" "$(jq '.top_processes[0].pid // .top[0].pid' <<<"$ev")"
expect_eq "name and pattern together still hold" 0 \
  "$(events | jq '[.events[] | select(.subject == "both")] | length')"

w3=$(worker)
if wait_for "$(down workers resolved)"; then ok "a new worker: workers resolves"
else not_ok "a new worker: workers resolves" "$(events)"; fi
stop_kotod TERM
finish
