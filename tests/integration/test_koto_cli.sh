#!/usr/bin/env bash
# test_koto_cli.sh KOTOD KOTO - the command-line client against a real kotod
# (a fixture tree whose memory is made to fill, a process check that fails):
# status as a summary and its exit code, events (and following the stream),
# history, silences, a remediation shown, approved by its hash and run,
# and the exit codes scripts test: refused, unreachable, bad usage.
KOTOD=$1
KOTO=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

fixture="$repo/tests/fixtures/linux-basic"
cp -r "$fixture/t0" "$tmp/proc"
set_mem_available 8000000
cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false } }
scripts_dir = "$tmp/scripts"
checks = { { name = "web", process = "no-such-daemon", min = 1, hold_samples = 1 } }
LUA
state="$tmp/state"
start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
  --listen 127.0.0.1:0 --interval 100 --state-dir "$state"
wait_log "dashboard at http://" 15 || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
export KOTO_URL="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
koto() { "$KOTO" --state-dir "$state" "$@"; }
# run NAME WANT_RC CMD...: CMD's output in $tmp/out, its exit code checked
run() {
  local name=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  expect_eq "$name (exit code)" "$want" "$?"
}
# until_ok SECONDS CMD...: polls CMD until it succeeds
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $deadline ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# ---- status: a failing check is trouble (exit 1), one line per check ----------------------
check "the process check fails" until_ok 10 bash -c "$(printf %q "$KOTO") --state-dir $(printf %q "$state") --json status | jq -e '.health.active[] | select(.type == \"process_down\")'"
run "status with a failing check" 1 koto status
check "status names the check, its kind and its state" grep -Eq '^web \(process\) +failing +high' "$tmp/out"
check "status says monitoring runs and the store is ok" grep -q '^monitoring running, health .*store ok' "$tmp/out"
run "status --json" 1 koto --json status
expect_eq "--json carries the checks from the configuration" "web no-such-daemon" \
  "$(jq -r '.checks[0] | "\(.name) \(.process)"' "$tmp/out")"
check "--json leaves the reading out" jq -e 'has("snapshot") | not' "$tmp/out"

# ---- events and the stream ------------------------------------------------------------------
set_mem_available 1000000 # 94 %
check "memory_high starts" until_ok 10 bash -c "$(printf %q "$KOTO") --json events --type memory_high | jq -e '.events | length >= 1'"
run "events" 0 koto events -n 50
check "events lists memory_high started with its message" grep -Eq '^ +[0-9]+ +[0-9-]+ [0-9:]+ +started +memory_high +high +Memory' "$tmp/out"
check "and the check's process_down with its subject" grep -Eq 'process_down +high +\[web\] check web' "$tmp/out"
run "events --json" 0 koto --json events -n 2
expect_eq "events --json is the API's page" 2 "$(jq '.events | length' "$tmp/out")"
run "events -n 0 is refused before asking kotod" 2 koto events -n 0
"$KOTO" --state-dir "$state" events -f -n 1 >"$tmp/follow" 2>&1 &
follower=$!
set_mem_available 8000000 # back to 50 %: memory_high resolves while we follow
check "events -f shows the resolution as it happens" until_ok 10 grep -Eq 'resolved +memory_high' "$tmp/follow"
kill "$follower" 2>/dev/null; wait "$follower" 2>/dev/null

# ---- history ----------------------------------------------------------------------------------
check "history lists the stored series" until_ok 15 bash -c "$(printf %q "$KOTO") history | grep -Eq '^memory +%'"
run "history memory" 0 koto history memory --from -5m --points 5
check "history memory prints its tier and a row per point" \
  bash -c "grep -q '^memory (%), tier ' $tmp/out && [ \$(grep -Ec '^[0-9]{4}-' $tmp/out) -ge 5 ]"
run "history of an unknown metric is kotod's refusal" 5 koto history no_such_metric
check "with kotod's message" grep -q 'kotod answered 4' "$tmp/err"

# ---- silences ---------------------------------------------------------------------------------
run "silence add" 0 koto silence add --type memory_high --for 2h --comment "disk swap"
id=$(sed -n 's/^silence \([0-9]*\) made$/\1/p' "$tmp/out")
check "it says which silence" test -n "$id"
run "silence list" 0 koto silence
check "the silence is listed, active, with its matcher and comment" \
  grep -Eq "^ +$id +active .*type=memory_high +disk swap" "$tmp/out"
run "silence add without an end is refused" 2 koto silence add --type cpu_high --comment x
run "silence add --for with a bad duration" 2 koto silence add --for 2w --comment x
run "silence rm" 0 koto silence rm "$id"
expect_eq "the silence is over" expired \
  "$(koto --json silence | jq -r --argjson id "$id" '.silences[] | select(.id == $id) | .state')"

# ---- a remediation: shown, approved by the hash of what was shown, run ------------------------
event_id=$(koto --json events --type memory_high | jq -r '[.events[] | select(.state == "started")][0].id')
curl -sS -X POST -H "Authorization: Bearer $(cat "$state/token")" -H 'Content-Type: application/json' \
  -d "{\"event_id\":$event_id}" "$KOTO_URL/api/agent/remediations" >"$tmp/proposal"
rid=$(jq -r .id "$tmp/proposal")
sha=$(jq -r .sha256 "$tmp/proposal")
run "remediations" 0 koto remediations
check "the proposal is listed" grep -Eq "^ +$rid +proposed +memory_high" "$tmp/out"
run "show" 0 koto show "$rid"
check "show prints the script's hash" grep -q "^sha256 $sha\$" "$tmp/out"
check "and its dry run" grep -q '^dry run: exit 0' "$tmp/out"
run "approve without a terminal and without --yes" 2 koto approve "$rid" </dev/null
expect_eq "so nothing was approved" proposed "$(koto --json show "$rid" | jq -r .state)"
run "approve without the token is refused" 4 "$KOTO" --token-file /dev/null approve "$rid" --yes
run "approve --yes --wait runs it and shows the result" 0 koto approve "$rid" --yes --wait
check "the run's result is printed" grep -q '^run: exit 0' "$tmp/out"
expect_eq "it succeeded" succeeded "$(koto --json show "$rid" | jq -r .state)"
run "deny after it ran is kotod's conflict" 5 koto deny "$rid"
run "show of a remediation that is not there" 5 koto show 999999

# ---- exit codes scripts rely on ----------------------------------------------------------------
echo wrong-token >"$tmp/wrong"
run "a wrong token is refused" 4 "$KOTO" --token-file "$tmp/wrong" silence add --for 1h --comment x
run "a token file that is not there" 4 "$KOTO" --token-file "$tmp/none" status
run "no kotod there" 3 "$KOTO" --url http://127.0.0.1:1 status
check "says where it looked" grep -q 'cannot reach kotod at http://127.0.0.1:1' "$tmp/err"
run "an unknown command" 2 koto frobnicate
run "an unknown option" 2 koto --frob status
run "--help" 0 koto --help
check "--help lists the exit codes" grep -q '^Exit codes: 0' "$tmp/out"
run "token" 0 koto token
expect_eq "token says which file it reads" "$state/token (readable)" "$(cat "$tmp/out")"

# ---- named tokens through the API ---------------------------------------------------------------
run "token add" 0 koto token add ci --scope read
check "prints the new token alone on stdout" grep -Eqx '[0-9a-f]{64}' "$tmp/out"
cp "$tmp/out" "$tmp/ci-token"
run "token list" 0 koto token list
check "lists it with its scope" grep -Eq '^ci +read$' "$tmp/out"
run "a read token reads what needs a token" 0 "$KOTO" --token-file "$tmp/ci-token" remediations
run "but may not manage tokens" 4 "$KOTO" --token-file "$tmp/ci-token" token add more
run "a name in use is refused" 5 koto token add ci
run "a bad scope is refused" 5 koto token add x --scope root
run "token add with nothing after" 2 koto token add
run "token list --json" 0 koto --json token list
expect_eq "as JSON" "default ci" "$(jq -r '[.tokens[].name] | join(" ")' "$tmp/out")"
run "token revoke" 0 koto token revoke ci
run "the revoked token is refused at once" 4 "$KOTO" --token-file "$tmp/ci-token" remediations
run "revoking it again: not found" 5 koto token revoke ci

# ---- the daemon lived through all of it -------------------------------------------------------
set_mem_available 8000000
check "kotod still serves" curl -sf "$KOTO_URL/healthz"
kill_kotod

# ---- an HTTPS kotod with the certificate it made for itself -----------------------------------
printf 'tls = "self-signed"\n' >"$tmp/tls.conf.lua"
chmod 600 "$tmp/tls.conf.lua"
start_kotod -c "$tmp/tls.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
  --listen 127.0.0.1:0 --interval 100 --state-dir "$tmp/tls-state"
wait_log "dashboard at https://" 15 || { not_ok "an HTTPS kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
tls_url="https://$(sed -n 's|.*dashboard at https://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
run "its certificate is not trusted without --cacert" 3 "$KOTO" --url "$tls_url" --state-dir "$tmp/tls-state" events
run "with --cacert it is" 0 "$KOTO" --url "$tls_url" --state-dir "$tmp/tls-state" \
  --cacert "$tmp/tls-state/tls-cert.pem" events
run "and with KOTO_CACERT" 0 env KOTO_CACERT="$tmp/tls-state/tls-cert.pem" \
  "$KOTO" --url "$tls_url" --state-dir "$tmp/tls-state" silence
finish
