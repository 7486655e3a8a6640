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

# -t checks without side effects: no state directory, no token made.
"$KOTOD" -t --state-dir "$tmp/check-state" --listen 127.0.0.1:0 2>"$tmp/err"; rc=$?
expect_eq "-t on the defaults exits 0" 0 "$rc"
check "-t makes no state directory and no token" test ! -e "$tmp/check-state"
"$KOTOD" -t --state-dir "$tmp/check-state" --listen 192.0.2.1:5000 2>"$tmp/err"; rc=$?
expect_eq "-t on an address this machine does not have exits 1" 1 "$rc"
check "and says it cannot listen there" grep -q "cannot listen on 192.0.2.1:5000" "$tmp/err"
# A threshold under the default clear margin takes a scaled margin; a
# margin the file sets over its threshold is refused with file:line.
printf 'thresholds = { cpu = { threshold = 3 } }\n' >"$tmp/low.lua"
"$KOTOD" -t -c "$tmp/low.lua" --state-dir "$tmp/check-state" --listen 127.0.0.1:0 2>"$tmp/err"; rc=$?
expect_eq "a threshold below the default margin is accepted" 0 "$rc"
printf '\n\nthresholds = { cpu = { threshold = 3, clear_margin = 4 } }\n' >"$tmp/bad.lua"
"$KOTOD" -t -c "$tmp/bad.lua" --state-dir "$tmp/check-state" --listen 127.0.0.1:0 2>"$tmp/err"; rc=$?
expect_eq "a margin over its threshold is refused" 1 "$rc"
check "with file and line" grep -q "bad.lua:3: cpu.clear_margin must be between 0 and the threshold 3 (got 4)" "$tmp/err"

# -d: detached, it stops as fast as in the foreground and takes its pidfile away.
"$KOTOD" -d --interval 100 --listen 127.0.0.1:0 --state-dir "$tmp/dstate" --pidfile "$tmp/d.pid" \
  2>"$tmp/err"; rc=$?
expect_eq "-d detaches and exits 0" 0 "$rc"
deadline=$((SECONDS + 10))
until [ -s "$tmp/d.pid" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
dpid=$(cat "$tmp/d.pid" 2>/dev/null)
sleep 0.5
# Reparented to init, a stopped kotod may stay a zombie for a while: gone
# or a zombie is stopped.
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }
t0=$(date +%s%N)
kill -TERM "$dpid"
deadline=$((SECONDS + 10))
while alive "$dpid" && [ $SECONDS -lt $deadline ]; do sleep 0.005; done
took=$((($(date +%s%N) - t0) / 1000000))
check "-d stops on SIGTERM (in $took ms)" bash -c "! ps -o stat= -p $dpid | grep -qv Z"
check "and removes its pidfile" test ! -e "$tmp/d.pid"

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

# A user who is not root, with a fresh $HOME and no --state-dir: kotod makes
# ~/.local/state/koto owner-only (0700) with a 0600 token, and leaves every
# other mode under $HOME as it was (parents it creates get the umask's 0755).
# As root, the test runs kotod as nobody through setpriv.
home="$tmp/home"
mkdir -p "$home/.config" && echo x >"$home/.profile"
chmod 711 "$tmp"
as_user=()
if [ "$(id -u)" = 0 ]; then
  chown -R 65534:65534 "$home"
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
modes_before=$(cd "$home" && find . -printf '%m %p\n' | sort)
: >"$tmp/kotod.log"
(umask 022; exec env -i PATH=/usr/bin:/bin HOME="$home" "${as_user[@]}" "$KOTOD" --listen 127.0.0.1:0 \
   --interval 1000 >/dev/null 2>"$tmp/kotod.log") &
kotod_pid=$!
if wait_log "started"; then ok "a non-root user with a fresh HOME starts kotod"; else not_ok "a non-root user with a fresh HOME starts kotod" "$(cat "$tmp/kotod.log")"; fi
stop_kotod TERM
expect_eq "and it stops cleanly" 0 "$kotod_rc"
expect_eq "the state directory is 0700" 700 "$(stat -c %a "$home/.local/state/koto" 2>&1)"
expect_eq "the token is 0600" 600 "$(stat -c %a "$home/.local/state/koto/token" 2>&1)"
expect_eq "the parents it made are 0755" "755 755" \
  "$(stat -c %a "$home/.local" 2>&1) $(stat -c %a "$home/.local/state" 2>&1)"
modes_after=$(cd "$home" && find . -printf '%m %p\n' | sort | grep -v -e ' ./.local' )
expect_eq "nothing else under HOME changed mode" "$modes_before" "$modes_after"

# A state directory an older kotod left as d--xr----- is made 0700 again.
chmod 0140 "$home/.local/state/koto"
: >"$tmp/kotod.log"
(exec env -i PATH=/usr/bin:/bin HOME="$home" "${as_user[@]}" "$KOTOD" --listen 127.0.0.1:0 \
   >/dev/null 2>"$tmp/kotod.log") &
kotod_pid=$!
if wait_log "started"; then ok "a state directory with a broken mode is repaired"; else not_ok "a state directory with a broken mode is repaired" "$(cat "$tmp/kotod.log")"; fi
stop_kotod TERM
expect_eq "to 0700" 700 "$(stat -c %a "$home/.local/state/koto" 2>&1)"
check "and the token is read, not made again" grep -q "API token read from" "$tmp/kotod.log"

# Named tokens: made, listed, refused, revoked; the file is owner-only and
# holds no token, only its hash.
sd="$tmp/tokens-state"
t=$("$KOTOD" --state-dir "$sd" --token add agent 2>/dev/null)
check "--token add prints a new token" grep -Eq '^[0-9a-f]{64}$' <<<"$t"
expect_eq "the tokens file is 0600" 600 "$(stat -c %a "$sd/tokens" 2>&1)"
check "it keeps the hash, not the token" bash -c "! grep -q '$t' '$sd/tokens' && grep -q \"\$(printf %s '$t' | sha256sum | cut -d' ' -f1)\" '$sd/tokens'"
"$KOTOD" --state-dir "$sd" --token add ops --scope control >/dev/null 2>&1
expect_eq "--token list: the default token first, each with its scopes (implied ones too)" \
  "default read,propose,control|agent read,propose|ops read,propose,control" \
  "$("$KOTOD" --state-dir "$sd" --token list | awk '{printf "%s%s %s", (NR > 1 ? "|" : ""), $1, $2}')"
"$KOTOD" --state-dir "$sd" --token add agent >/dev/null 2>"$tmp/err"; rc=$?
expect_eq "a name in use is refused" "1 kotod: a token named 'agent' exists; revoke it first" "$rc $(cat "$tmp/err")"
"$KOTOD" --state-dir "$sd" --token add x --scope root >/dev/null 2>&1; rc=$?
expect_eq "an unknown scope is a usage error" 2 "$rc"
"$KOTOD" --state-dir "$sd" --token add >/dev/null 2>&1; rc=$?
expect_eq "add without a name is a usage error" 2 "$rc"
"$KOTOD" --state-dir "$sd" --token revoke agent 2>/dev/null
expect_eq "--token revoke removes it" "default ops" "$("$KOTOD" --state-dir "$sd" --token list | awk '{print $1}' | xargs)"
"$KOTOD" --state-dir "$sd" --token revoke agent 2>/dev/null; rc=$?
expect_eq "revoking an unknown name fails" 1 "$rc"

finish
