#!/usr/bin/env bash
# test_run_approved.sh KOTOD RUNNER - remediation as root: koto-run-approved
# runs an approved script and nothing else.
#   - the runner itself, a request on stdin: the approved file runs (once
#     for real, once as a dry run); refused: another script under the
#     approved hash, the file changed after approval, a path outside the
#     spool, a symbolic link, a hard link, a file or spool others can
#     write, a file of another user, any extra word, option or shell
#     syntax in the request;
#   - kotod with remedy_root_socket: a proposal's dry run and its approved
#     run both go through the runner (behind socat standing in for
#     systemd's socket), and the result comes back to the API.
# The runner is told to serve this test's user (--user), so it runs
# unprivileged here; as root it runs the same checks for koto.
KOTOD=$1
RUNNER=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
me=$(id -un)

spool="$tmp/spool"
mkdir -m 0700 "$spool" "$tmp/outside"
sha_of() { sha256sum <"$1" | cut -d' ' -f1; }
# ask REQUEST: the runner's answer to one request line
ask() { printf '%s\n' "$1" | "$RUNNER" --spool "$spool" --user "$me" --work "$tmp/work" 2>>"$tmp/runner.log"; }
refused() { # refused NAME REQUEST: the runner refuses and runs nothing
  rm -f "$tmp/ran"
  local out; out=$(ask "$2")
  if [[ $out == refused* ]] && [ ! -e "$tmp/ran" ]; then ok "refused: $1"; else not_ok "refused: $1" "$out"; fi
}

printf '#!/bin/bash\n[ "$1" = --dry-run ] && { echo "would touch"; exit 0; }\necho "ran as $(id -u) with $# args in $PWD"\ntouch %s/ran\n' "$tmp" >"$spool/remedy-1.sh"
chmod 0600 "$spool/remedy-1.sh"
sha1=$(sha_of "$spool/remedy-1.sh")

out=$(ask "run remedy-1.sh $sha1 10")
expect_eq "the approved file runs" "ok 0" "$(head -1 <<<"$out" | cut -d' ' -f1,2)"
expect_eq "with no argument, from /" "ran as $(id -u) with 0 args in /" "$(sed -n 2p <<<"$out")"
check "it really ran" test -e "$tmp/ran"
out=$(ask "dry-run remedy-1.sh $sha1 10")
expect_eq "a dry run gets --dry-run and nothing else" "would touch" "$(sed -n 2p <<<"$out")"
expect_eq "the copy that ran is gone" "" "$(ls -A "$tmp/work")"
expect_eq "the work directory is owner-only" 700 "$(stat -c %a "$tmp/work")"

# Another script under the approved hash, and the approved one changed.
printf '#!/bin/bash\ntouch %s/ran\n' "$tmp" >"$spool/remedy-2.sh"; chmod 0600 "$spool/remedy-2.sh"
refused "another script under the approved hash" "run remedy-2.sh $sha1 10"
cp "$spool/remedy-1.sh" "$tmp/remedy-1.orig"
echo 'id' >>"$spool/remedy-1.sh"
refused "the file changed after approval" "run remedy-1.sh $sha1 10"
cp "$tmp/remedy-1.orig" "$spool/remedy-1.sh"
# Paths outside the spool, links.
cp "$tmp/remedy-1.orig" "$tmp/outside/remedy-3.sh"
refused "a path outside the spool" "run ../outside/remedy-3.sh $sha1 10"
refused "an absolute path" "run $tmp/outside/remedy-3.sh $sha1 10"
ln -s "$tmp/outside/remedy-3.sh" "$spool/remedy-3.sh"
refused "a symbolic link in the spool" "run remedy-3.sh $sha1 10"
rm "$spool/remedy-3.sh"; ln "$tmp/outside/remedy-3.sh" "$spool/remedy-3.sh"
refused "a hard link in the spool" "run remedy-3.sh $sha1 10"
rm "$spool/remedy-3.sh"
refused "a name that is not remedy-ID.sh" "run koto.conf.lua $sha1 10"
# Permissions.
chmod 0620 "$spool/remedy-1.sh"
refused "a file its group can write" "run remedy-1.sh $sha1 10"
chmod 0600 "$spool/remedy-1.sh"; chmod 0770 "$spool"
refused "a spool its group can write" "run remedy-1.sh $sha1 10"
chmod 0700 "$spool"
if [ "$(id -u)" -eq 0 ] && getent passwd nobody >/dev/null; then
  chown nobody "$spool/remedy-1.sh"
  refused "a file of another user" "run remedy-1.sh $sha1 10"
  chown root "$spool/remedy-1.sh"
  out=$(printf 'run remedy-1.sh %s 10\n' "$sha1" | "$RUNNER" --spool "$spool" --user nobody --work "$tmp/work" 2>&1)
  [[ $out == refused* ]] && ok "refused: a spool not of the served user" || not_ok "refused: a spool not of the served user" "$out"
fi
# Argument injection: the request is four words, nothing else.
refused "an extra argument" "run remedy-1.sh $sha1 10 --rcfile=/tmp/x"
refused "an option for bash" "run --rcfile remedy-1.sh $sha1 10"
refused "shell syntax" "run remedy-1.sh;id $sha1 10"
refused "a command substitution" "run \$(id)remedy-1.sh $sha1 10"
refused "two spaces" "run  remedy-1.sh $sha1 10"
refused "another verb" "exec remedy-1.sh $sha1 10"
refused "an upper-case hash" "run remedy-1.sh ${sha1^^} 10"
refused "a negative timeout" "run remedy-1.sh $sha1 -1"
refused "no request" ""
long=$(printf 'x%.0s' $(seq 300))
refused "an overlong line" "run remedy-1.sh $sha1 10 $long"
check "every refusal is logged with its reason" grep -q "refused: remedy-2.sh hashes to" "$tmp/runner.log"

# ---- kotod through the runner's socket --------------------------------------------------------
if ! command -v socat >/dev/null; then echo "SKIP (kotod part): no socat"; finish; exit; fi
fixture="$repo/tests/fixtures/linux-basic"
cp -r "$fixture/t0" "$tmp/proc"
state="$tmp/state"
sock="$tmp/run.sock"
cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { cpu = { enabled = false }, cpu_spike = { enabled = false } }
scripts_dir = "$state/scripts"
remedy_root_socket = "$sock"
LUA
printf 'remedy_root_socket = "run.sock"\n' >"$tmp/relative.conf.lua"
"$KOTOD" -t -c "$tmp/relative.conf.lua" --state-dir "$tmp/state-t" >"$tmp/t.out" 2>&1; rc=$?
expect_eq "kotod -t refuses a relative remedy_root_socket" "1 yes" \
  "$rc $(grep -q 'relative.conf.lua: remedy_root_socket must be an absolute path' "$tmp/t.out" && echo yes)"
socat UNIX-LISTEN:"$sock",fork,mode=0600 \
  EXEC:"$RUNNER --spool $state/scripts --user $me --work $tmp/work2" 2>>"$tmp/socat.log" &
bg_pids+=($!)
start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
  --listen 127.0.0.1:0 --interval 100 --state-dir "$state"
check "kotod starts with remedy_root_socket" wait_log "dashboard at http://" 15
base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
token=$(cat "$state/token")
api() { curl -sS -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+-d "$3"} "$base$2"; }
p=$(api POST /api/agent/remediations '{"issue_type":"memory_high","top":2}')
id=$(jq -r .id <<<"$p"); sha=$(jq -r .sha256 <<<"$p")
expect_eq "the proposal's dry run went through the runner" 0 "$(jq -r .dry_run.exit_code <<<"$p")"
check "the runner logged the dry run" grep -q "dry-run remedy-$id.sh" "$tmp/socat.log"
api POST "/api/agent/remediations/$id/approve" "{\"sha256\":\"$sha\"}" >/dev/null
deadline=$((SECONDS + 15))
until s=$(api GET "/api/agent/remediations/$id" | jq -r .state); [ "$s" = succeeded ] || [ "$s" = failed ] ||
  [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "the approved run went through the runner and succeeded" succeeded "$s"
check "the runner logged the run" grep -q "run remedy-$id.sh (sha256 ${sha:0:12}...): exit code 0" "$tmp/socat.log"
check "its output came back to the API" test -n "$(api GET "/api/agent/remediations/$id" | jq -r '.run.output // empty')"
stop_kotod TERM
finish
