#!/usr/bin/env bash
# test_cli.sh KOTOD - kotod's command line and its life as a foreground daemon.
KOTOD=$1
. "$(dirname "$0")/lib.sh"

check "--help exits 0 and shows usage" bash -c '"$0" --help | grep -q "usage: kotod"' "$KOTOD"
check "--version prints the version" bash -c '"$0" --version | grep -Eq "^kotod [0-9]+\.[0-9]+\.[0-9]+$"' "$KOTOD"

"$KOTOD" --bogus >/dev/null 2>"$tmp/err"; rc=$?
expect_eq "an unknown option exits 2" 2 "$rc"
check "an unknown option is named" grep -q "bogus" "$tmp/err"

"$KOTOD" --interval 50 2>"$tmp/err"; rc=$?
expect_eq "an interval under 100 ms exits 2" 2 "$rc"
expect_eq "and says why" "kotod: --interval wants a whole number from 100 to 86400000, not '50'" "$(cat "$tmp/err")"

"$KOTOD" --procfs /a --procfs /b 2>"$tmp/err"; rc=$?
expect_eq "two --procfs without --once exits 2" 2 "$rc"

"$KOTOD" --once --procfs /nonexistent/proc >/dev/null 2>"$tmp/err"; rc=$?
expect_eq "--once on a missing procfs exits 1" 1 "$rc"
check "and names the path" grep -q "/nonexistent/proc" "$tmp/err"

for sig in TERM INT; do
  start_kotod --interval 100 --listen 127.0.0.1:0 --state-dir "$tmp/state"
  if wait_log "started"; then ok "SIG$sig run: started"; else not_ok "SIG$sig run: started" "$(cat "$tmp/kotod.log")"; fi
  sleep 0.5
  stop_kotod "$sig"
  expect_eq "SIG$sig stops kotod cleanly" 0 "$kotod_rc"
  check "SIG$sig is logged" grep -q "SIG$sig received, stopping" "$tmp/kotod.log"
  check "the stop is logged" grep -q " stopped$" "$tmp/kotod.log"
done

start_kotod --interval 100 --listen 127.0.0.1:0 --state-dir "$tmp/state"
wait_log "started"
kill -HUP "$kotod_pid"
if wait_log "SIGHUP received" 5; then ok "SIGHUP is answered"; else not_ok "SIGHUP is answered"; fi
check "SIGHUP does not stop kotod" kill -0 "$kotod_pid"
stop_kotod TERM
expect_eq "still stops cleanly after SIGHUP" 0 "$kotod_rc"

finish
