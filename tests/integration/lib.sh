# lib.sh - the little the shell tests share: checks that count, and a
# kotod started in the background with its log captured.
# Usage: source it, call check/expect_eq, end with `finish`.
set -u
passed=0
failed=0
tmp=$(mktemp -d)
# KEEP_TMP=1 keeps the logs of a failed run for a look.
# bg_pids: what a test started in the background (receivers, peers, clients);
# stopped at exit with kotod, so none outlives the test and holds ctest's pipe.
bg_pids=()
trap 'kill_kotod; for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
      if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi' EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '     %s\n' "$@"; }

# check NAME CMD...: passes when CMD exits 0.
check() {
  local name=$1; shift
  if "$@" >"$tmp/check.out" 2>&1; then ok "$name"; else not_ok "$name" "$(head -c 2000 "$tmp/check.out")"; fi
}

# expect_eq NAME WANT GOT
expect_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "want: $2" "got:  $3"; fi
}

# expect_near NAME WANT GOT TOLERANCE (numbers, absolute tolerance)
expect_near() {
  if awk -v w="$2" -v g="$3" -v t="$4" 'BEGIN { d = w - g; if (d < 0) d = -d; exit !(d <= t) }'; then
    ok "$1"
  else
    not_ok "$1" "want: $2 (+-$4)" "got:  $3"
  fi
}

kotod_pid=""
# start_kotod ARGS...: runs kotod in the background, log in $tmp/kotod.log.
start_kotod() {
  # Empty the log first: wait_log must not find the previous run's lines.
  : >"$tmp/kotod.log"
  "$KOTOD" "$@" >"$tmp/kotod.out" 2>"$tmp/kotod.log" &
  kotod_pid=$!
}

# wait_log PATTERN [SECONDS]: waits until the log has a line matching PATTERN.
wait_log() {
  local deadline=$((SECONDS + ${2:-10}))
  while [ $SECONDS -lt $deadline ]; do
    grep -q -- "$1" "$tmp/kotod.log" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# stop_kotod SIGNAL: sends it and waits (at most 10 s); sets kotod_rc.
stop_kotod() {
  kill -"$1" "$kotod_pid"
  local deadline=$((SECONDS + 10))
  while kill -0 "$kotod_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  if kill -0 "$kotod_pid" 2>/dev/null; then kotod_rc=timeout; kill -9 "$kotod_pid"; fi
  [ "${kotod_rc:-}" = timeout ] || { wait "$kotod_pid"; kotod_rc=$?; }
  kotod_pid=""
}

# stopped_cleanly NAME: stop_kotod TERM, and a test that kotod exited 0
# (an abort on the way out shows the end of its log).
stopped_cleanly() {
  stop_kotod TERM
  if [ "$kotod_rc" = 0 ]; then ok "$1"; else not_ok "$1" "exit: $kotod_rc" "$(tail -n 15 "$tmp/kotod.log")"; fi
}

kill_kotod() { [ -n "$kotod_pid" ] && kill -9 "$kotod_pid" 2>/dev/null; true; }

# set_mem_available KB: rewrites MemAvailable in the procfs copy $tmp/proc of
# the fixture tree $fixture (linux-basic: MemTotal is 16000000 kB, so
# 8000000 is 50 % used), in one rename, so kotod reads the old or the new.
set_mem_available() {
  sed "s/^MemAvailable:.*/MemAvailable:   $1 kB/" "$fixture/t0/meminfo" >"$tmp/meminfo.new" &&
    mv "$tmp/meminfo.new" "$tmp/proc/meminfo"
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# free_port: a loopback TCP port free right now, for a peer that needs one named
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# receiver NAME ARGS...: starts a webhook receiver on loopback
# (webhook_receiver.py, ARGS passed on); its port in $port, what it
# received in $tmp/NAME.log, one JSON line per request. Stopped at exit.
receiver() {
  local name=$1; shift
  rm -f "$tmp/$name.port"
  : >"$tmp/$name.log"
  python3 "$(dirname "${BASH_SOURCE[0]}")/webhook_receiver.py" "$tmp/$name.port" "$tmp/$name.log" "$@" &
  bg_pids+=($!)
  local deadline=$((SECONDS + 10))
  while [ ! -s "$tmp/$name.port" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  port=$(cat "$tmp/$name.port")
}

# wait_lines FILE JQ_SLURP_FILTER [SECONDS]: until the receiver's log satisfies it
wait_lines() {
  local deadline=$((SECONDS + ${3:-15}))
  while [ $SECONDS -lt $deadline ]; do
    jq -e -s "$2" "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
