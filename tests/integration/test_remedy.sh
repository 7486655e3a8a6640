#!/usr/bin/env bash
# test_remedy.sh KOTOD - remediation as preview -> approval -> run -> audit,
# against a real kotod with a real store and real scripts:
#   - an event (memory_high from a fixture tree) -> proposal with its dry
#     run -> approval by hash -> the run's result, every step in the audit;
#   - refused: without the token, a wrong hash, a second approval, a denied
#     one, an expired one, a file changed after approval, a configuration
#     file others can write;
#   - a run that hangs with children is killed at remedy_timeout_s, children
#     included (through a stand-in interpreter, remedy_interpreter);
#   - /metrics counts the runs by template and result.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

fixture="$repo/tests/fixtures/linux-basic"
cp -r "$fixture/t0" "$tmp/proc"
set_mem_available 8000000
conf() { # conf EXTRA_LUA: the configuration file, owner-only writable
  cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false } }
scripts_dir = "$tmp/scripts"
$1
LUA
  chmod 0644 "$tmp/koto.conf.lua"
}
state="$tmp/state"
run() { start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
          --listen 127.0.0.1:0 --interval 100 --state-dir "$state"; }
started() {
  wait_log "dashboard at http://" 15 || return 1
  base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
  token=$(cat "$state/token")
}
api() { # api METHOD PATH [BODY]: the body, then the status on the last line
  local m=$1 p=$2; shift 2
  curl -sS -X "$m" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    ${1:+-d "$1"} -w '\n%{http_code}' "$base$p"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
# wait_state ID STATE...: until the remediation is in one of the states (10 s)
wait_state() {
  local id=$1 deadline=$((SECONDS + 10)); shift
  while [ $SECONDS -lt $deadline ]; do
    local s; s=$(body_of "$(api GET "/api/agent/remediations/$id")" | jq -r .state)
    for want in "$@"; do [ "$s" = "$want" ] && return 0; done
    sleep 0.1
  done
  return 1
}
wait_remediation_failed() {
  local deadline=$((SECONDS + 10))
  while [ $SECONDS -lt $deadline ]; do
    curl -sS "$base/api/agent/monitor/events?limit=100&event_type=remediation_failed" |
      jq -e '.events | length >= 1' >/dev/null && return 0
    sleep 0.1
  done
  return 1
}
audit_actions() { # the actions recorded for remediation ID, space separated
  body_of "$(api GET '/api/agent/audit?limit=1000')" |
    jq -r --argjson id "$1" '[.audit[] | select(.remediation_id == $id) | .action] | join(" ")'
}

conf ""
run
started || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }

# ---- an event, its proposal, approval and run -------------------------------------------
set_mem_available 1000000 # 94 %
event_id=""
deadline=$((SECONDS + 10))
while [ -z "$event_id" ] && [ $SECONDS -lt $deadline ]; do
  event_id=$(curl -sS "$base/api/agent/monitor/events?limit=100" |
    jq -r '[.events[] | select(.type == "memory_high" and .state == "started")][0].id // empty')
  [ -n "$event_id" ] || sleep 0.1
done
[ -n "$event_id" ] && ok "memory_high starts" || not_ok "memory_high starts"

r=$(curl -sS -X POST -H 'Content-Type: application/json' -d "{\"event_id\":$event_id}" \
      -w '\n%{http_code}' "$base/api/agent/remediations")
expect_eq "a proposal without the token is refused" 401 "$(status_of "$r")"
r=$(api POST /api/agent/remediations "{\"event_id\":$event_id}")
expect_eq "a proposal from the event" 200 "$(status_of "$r")"
p=$(body_of "$r")
id=$(jq -r .id <<<"$p")
sha=$(jq -r .sha256 <<<"$p")
file=$(jq -r .file <<<"$p")
expect_eq "it is for the event, with the event's template, pending" \
  "$event_id memory_high proposed bash" "$(jq -r '"\(.event_id) \(.template) \(.state) \(.dialect)"' <<<"$p")"
expect_eq "the hash is the script's" "$sha" "$(jq -j .script <<<"$p" | sha256sum | cut -d' ' -f1)"
expect_eq "the file holds exactly the script" "$sha" "$(sha256sum <"$file" | cut -d' ' -f1)"
expect_eq "the file is owner-only" 600 "$(stat -c %a "$file")"
expect_eq "the dry run ran and succeeded" 0 "$(jq -r .dry_run.exit_code <<<"$p")"
check "the dry run's output is kept" bash -c "jq -r .dry_run.output <<<'$(jq -c . <<<"$p" | sed "s/'/'\\\\''/g")' | grep -q 'Memory'"
expect_eq "an approval without the token is refused" 401 \
  "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d "{\"sha256\":\"$sha\"}" "$base/api/agent/remediations/$id/approve")"
r=$(api POST "/api/agent/remediations/$id/approve" '{"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}')
expect_eq "an approval naming another hash is refused" "422 hash_mismatch" \
  "$(status_of "$r") $(body_of "$r" | jq -r .error.code)"
expect_eq "an approval without a hash is refused" 422 "$(status_of "$(api POST "/api/agent/remediations/$id/approve" '{}')")"
r=$(api POST "/api/agent/remediations/$id/approve" "{\"sha256\":\"$sha\"}")
expect_eq "the approval with the script's hash" "200 approved" "$(status_of "$r") $(body_of "$r" | jq -r .state)"
expect_eq "a second approval is refused" 409 "$(status_of "$(api POST "/api/agent/remediations/$id/approve" "{\"sha256\":\"$sha\"}")")"
if wait_state "$id" succeeded failed; then ok "the run ends"; else not_ok "the run ends"; fi
done_doc=$(body_of "$(api GET "/api/agent/remediations/$id")")
expect_eq "it succeeded, exit code 0, with its output" "succeeded 0 ok yes" \
  "$(jq -r '"\(.state) \(.run.exit_code) \(.run.result) \(if (.run.output | length) > 0 then "yes" else "no" end)"' <<<"$done_doc")"
check "the file is gone after the run (it runs once)" test ! -e "$file"
# The fixture's memory stays high: the next readings find the condition
# still there, and say so.
want="proposed dry_run approval_refused approved run_started run_ended verify_failed"
deadline=$((SECONDS + 10))
until [ "$(audit_actions "$id")" = "$want" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "the audit has every step, in order, and the verification" "$want" "$(audit_actions "$id")"
if wait_remediation_failed; then ok "remediation_failed is raised"; else not_ok "remediation_failed is raised"; fi
expect_eq "the approval in the audit names the approver and the hash" "$sha" \
  "$(body_of "$(api GET '/api/agent/audit?limit=1000')" | jq -r --argjson id "$id" \
     '[.audit[] | select(.remediation_id == $id and .action == "approved")][0] | select(.who | test("^token default from 127\\.0\\.0\\.1")) | .sha256')"
check "/metrics counts the run" bash -c \
  "curl -sS '$base/metrics' | grep -q '^koto_remediation_runs_total{template=\"memory_high\",result=\"ok\"} 1\$'"

# ---- denied, tampered, a writable configuration ---------------------------------------------
p=$(body_of "$(api POST /api/agent/remediations '{"issue_type":"memory_high","top":2}')")
id2=$(jq -r .id <<<"$p")
expect_eq "deny" "200" "$(status_of "$(api POST "/api/agent/remediations/$id2/deny")")"
expect_eq "a denied proposal cannot be approved" 409 \
  "$(status_of "$(api POST "/api/agent/remediations/$id2/approve" "{\"sha256\":\"$(jq -r .sha256 <<<"$p")\"}")")"

p=$(body_of "$(api POST /api/agent/remediations '{"issue_type":"memory_high","top":2}')")
id3=$(jq -r .id <<<"$p")
f3=$(jq -r .file <<<"$p")
echo 'touch /tmp/koto-tampered' >>"$f3" # changed after the review
api POST "/api/agent/remediations/$id3/approve" "{\"sha256\":\"$(jq -r .sha256 <<<"$p")\"}" >/dev/null
wait_state "$id3" refused succeeded failed
d=$(body_of "$(api GET "/api/agent/remediations/$id3")")
expect_eq "a file changed after approval is refused" "refused tampered" \
  "$(jq -r '"\(.state) \(.refused.reason)"' <<<"$d")"
check "and nothing of it ran" test ! -e /tmp/koto-tampered
expect_eq "the refusal is in the audit" "proposed dry_run approved refused" "$(audit_actions "$id3")"

p=$(body_of "$(api POST /api/agent/remediations '{"issue_type":"memory_high","top":2}')")
id4=$(jq -r .id <<<"$p")
chmod 0666 "$tmp/koto.conf.lua"
api POST "/api/agent/remediations/$id4/approve" "{\"sha256\":\"$(jq -r .sha256 <<<"$p")\"}" >/dev/null
wait_state "$id4" refused succeeded failed
expect_eq "nothing runs while the configuration is writable by others" "refused unsafe_permissions" \
  "$(body_of "$(api GET "/api/agent/remediations/$id4")" | jq -r '"\(.state) \(.refused.reason)"')"
chmod 0644 "$tmp/koto.conf.lua"
check "/metrics counts refusals" bash -c \
  "curl -sS '$base/metrics' | grep -q '^koto_remediation_runs_total{template=\"memory_high\",result=\"refused\"} 2\$'"
stop_kotod TERM
expect_eq "stops cleanly" 0 "$kotod_rc"

# ---- expiry, and a run that hangs with children ------------------------------------------------
cat >"$tmp/hang-interpreter" <<SH
#!/bin/bash
# stands in for bash: starts two children that would run for minutes
case " \$* " in *" --dry-run "*) echo "dry run of \$1"; exit 0 ;; esac
sleep 300 & echo \$! >"$tmp/child1"
( sleep 300 ) & echo \$! >"$tmp/child2"
echo started
wait
SH
chmod 0755 "$tmp/hang-interpreter"
conf "remedy_expiry_s = 1
remedy_timeout_s = 1
remedy_interpreter = \"$tmp/hang-interpreter\""
run
started || { not_ok "kotod starts again" "$(cat "$tmp/kotod.log")"; finish; exit; }
p=$(body_of "$(api POST /api/agent/remediations '{"issue_type":"memory_high"}')")
id5=$(jq -r .id <<<"$p")
expect_eq "the dry run goes through the configured interpreter" "dry run of $(jq -r .file <<<"$p")" \
  "$(jq -r .dry_run.output <<<"$p" | head -1)"
sleep 1.5
r=$(api POST "/api/agent/remediations/$id5/approve" "{\"sha256\":\"$(jq -r .sha256 <<<"$p")\"}")
expect_eq "an expired proposal cannot be approved" "409 expired" \
  "$(status_of "$r") $(body_of "$(api GET "/api/agent/remediations/$id5")" | jq -r .state)"
expect_eq "the expiry is in the audit" "proposed dry_run expired" "$(audit_actions "$id5")"

p=$(body_of "$(api POST /api/agent/remediations '{"issue_type":"memory_high"}')")
id6=$(jq -r .id <<<"$p")
api POST "/api/agent/remediations/$id6/approve" "{\"sha256\":\"$(jq -r .sha256 <<<"$p")\"}" >/dev/null
wait_state "$id6" failed succeeded
d=$(body_of "$(api GET "/api/agent/remediations/$id6")")
expect_eq "a run that hangs is stopped at the timeout" "failed timeout -1 true" \
  "$(jq -r '"\(.state) \(.run.result) \(.run.exit_code) \(.run.timed_out)"' <<<"$d")"
gone() { # PID: gone, or a zombie waiting for init
  local deadline=$((SECONDS + 10))
  while [ $SECONDS -lt $deadline ]; do
    [ -e "/proc/$1" ] || return 0
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.1
  done
  return 1
}
check "its first child was killed with it" gone "$(cat "$tmp/child1")"
check "its second child was killed with it" gone "$(cat "$tmp/child2")"
stop_kotod TERM

# ---- kotod stops while a script runs: the script ends with it ----------------------------
conf "remedy_timeout_s = 600
remedy_interpreter = \"$tmp/hang-interpreter\""
run
started || { not_ok "kotod starts a third time" "$(cat "$tmp/kotod.log")"; finish; exit; }
p=$(body_of "$(api POST /api/agent/remediations '{"issue_type":"memory_high"}')")
id7=$(jq -r .id <<<"$p")
rm -f "$tmp/child1" "$tmp/child2"
api POST "/api/agent/remediations/$id7/approve" "{\"sha256\":\"$(jq -r .sha256 <<<"$p")\"}" >/dev/null
wait_state "$id7" running
deadline=$((SECONDS + 10))
until [ -s "$tmp/child2" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
t0=$SECONDS
stop_kotod TERM
expect_eq "kotod stops cleanly with a script running" 0 "$kotod_rc"
check "without waiting for the script's 600 s" test $((SECONDS - t0)) -le 5
check "the script's child was ended with it" gone "$(cat "$tmp/child2")"
run
started || { not_ok "kotod starts a fourth time" "$(cat "$tmp/kotod.log")"; finish; exit; }
expect_eq "the run is recorded as cancelled" "failed cancelled" \
  "$(body_of "$(api GET "/api/agent/remediations/$id7")" | jq -r '"\(.state) \(.run.result)"')"
stop_kotod TERM
finish
