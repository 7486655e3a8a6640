#!/usr/bin/env bash
# test_store.sh KOTOD - the event log and the alert state outlive kotod: a
# real kotod with a real STATE_DIR/koto.db, stopped, restarted and killed.
#   - events and ids across a restart; a condition still held is not
#     announced again, one gone meanwhile resolves "while kotod was down";
#   - 30 kill -9 at random moments while events come every 100 ms: every
#     event a client saw (API or stream) is there afterwards, ids increase;
#   - a corrupt file is moved aside, a newer schema is left untouched;
#   - the history: readings of every run in one series across restarts, the
#     series list, at most 10 s of readings lost to a kill -9;
#   - a full filesystem degrades the store, and it catches up (root only);
#   - so does a read-only state directory, with or without a database in
#     it: ids go on from the file's (root only: a read-only bind mount).
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

fixture="$repo/tests/fixtures/linux-basic"
cp -r "$fixture/t0" "$tmp/proc"
set_mem_available 8000000 # 50 %: quiet
sed -i 's/ 2500000 / 250000 /' "$tmp/proc/5000/stat" 2>/dev/null || true
cat >"$tmp/koto.conf.lua" <<'LUA'
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false } }
LUA
state="$tmp/state"
run() { start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
          --listen 127.0.0.1:0 --interval 100 --state-dir "$state" "$@"; }
started() {
  wait_log "dashboard at http://" 15 || return 1
  base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
}
events() { curl -sS "$base/api/agent/monitor/events?limit=1000${1:-}"; }
status() { curl -sS "$base/api/agent/monitor/status"; }
# wait_for JQ_FILTER_ON_EVENTS [SECONDS]: until the stored log satisfies it
wait_for() {
  local deadline=$((SECONDS + ${2:-10}))
  while [ $SECONDS -lt $deadline ]; do
    events | jq -e "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# ---- a restart with a condition held, then one that ended while down ----------------
test_start_ms=$(date +%s%3N)
run
started || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
expect_eq "the state directory has koto.db, owner-only" 600 "$(stat -c %a "$state/koto.db")"
expect_eq "status shows the store ok" "ok" "$(status | jq -r .store.state)"
set_mem_available 1000000 # 94 %
if wait_for '[.events[] | select(.type == "memory_high" and .state == "started")] | length == 1'; then
  ok "memory_high starts"
else not_ok "memory_high starts" "$(events)"; fi
first_id=$(events | jq '[.events[] | select(.state == "started")][0].id')
expect_eq "events come from the store" "store" "$(events | jq -r .source)"
stopped_cleanly "stops cleanly"

run # still 94 %: the condition holds across the restart
started || { not_ok "kotod starts again" "$(cat "$tmp/kotod.log")"; finish; exit; }
check "the log says what was carried over" grep -q "1 conditions in progress carried over" "$tmp/kotod.log"
sleep 1 # ten readings
expect_eq "the old event is still there, and no second start" 1 \
  "$(events | jq '[.events[] | select(.state == "started")] | length')"
expect_eq "the health summary knows the condition at once" 1 "$(status | jq '.health.active | length')"
stopped_cleanly "the second run stops cleanly"

set_mem_available 8000000 # back to 50 % while kotod is down
run
started || { not_ok "kotod starts a third time" "$(cat "$tmp/kotod.log")"; finish; exit; }
if wait_for '[.events[] | select(.state == "resolved")] | length == 1'; then
  ok "the condition that ended while kotod was down resolves"
else not_ok "the condition that ended while kotod was down resolves" "$(events)"; fi
resolved=$(events | jq -c '[.events[] | select(.state == "resolved")][0]')
expect_eq "marked while_down, pointing at the start, with a newer id" "true $first_id yes" \
  "$(jq -r '.while_down' <<<"$resolved") $(jq -r .started_id <<<"$resolved") $(
    [ "$(jq .id <<<"$resolved")" -gt "$first_id" ] && echo yes)"
check "its message says so" bash -c "jq -r .message <<<'$resolved' | grep -q 'while kotod was down'"

# Paging the whole log: since gives the next page, before the one before.
set_mem_available 1000000
wait_for '[.events[] | select(.state == "started")] | length == 2'
set_mem_available 8000000
wait_for '[.events[] | select(.state == "resolved")] | length == 2'
all=$(events | jq -c '[.events[].id]')
expect_eq "since=first id, limit 2: the next two" "$(jq -c '.[1:3]' <<<"$all")" \
  "$(curl -sS "$base/api/agent/monitor/events?since=$(jq '.[0]' <<<"$all")&limit=2" | jq -c '[.events[].id]')"
expect_eq "before=last id, limit 2: the two before it" "$(jq -c '.[-3:-1]' <<<"$all")" \
  "$(curl -sS "$base/api/agent/monitor/events?before=$(jq '.[-1]' <<<"$all")&limit=2" | jq -c '[.events[].id]')"

# ---- the history across restarts ------------------------------------------------------------
# Memory was 50 % in the first run, 93.75 % in the second, and moved between
# them in this one: the stored series holds every run. A restart can take
# less than a bucket (100 ms), so one bucket may average the end of one run
# and the start of the next: its min and max are the readings' own values.
hist=$(curl -sS "$base/api/agent/history?metric=memory&from=$test_start_ms&points=10000")
expect_eq "the history answers from the readings themselves" "raw" "$(jq -r .tier <<<"$hist")"
expect_eq "it holds the values of all three runs" "50 93.75" \
  "$(jq -r '[.min[], .max[] | select(. != null)] | unique | map(tostring) | join(" ")' <<<"$hist")"
series=$(curl -sS "$base/api/agent/history/series")
check "the series list names memory, load and each filesystem" jq -e \
  '[.series[].metric] | (index("memory") != null) and (index("load1") != null) and (index("fs_used:/") != null)' \
  <<<"$series"
expect_eq "an unknown series is a 404" 404 \
  "$(curl -sS -o /dev/null -w '%{http_code}' "$base/api/agent/history?metric=nope&from=-1h")"
expect_eq "a bad range is a 422" 422 \
  "$(curl -sS -o /dev/null -w '%{http_code}' "$base/api/agent/history?metric=memory&from=-1h&to=-2h")"
stopped_cleanly "the third run stops cleanly"

# A kill -9 loses at most the readings since the last flush: 10 s.
run
started
sleep "$((9 + RANDOM % 5)).$((RANDOM % 10))"
killed_ms=$(date +%s%3N)
kill -9 "$kotod_pid"; wait "$kotod_pid" 2>/dev/null; kotod_pid=""
run
started
last=$(curl -sS "$base/api/agent/history?metric=memory&from=$((killed_ms - 30000))&to=$killed_ms&points=10000" |
  jq '[.t as $t | .avg | to_entries[] | select(.value != null) | $t[.key]] | max')
check "readings up to 10 s before the kill are kept (lost: $((killed_ms - last)) ms)" \
  test "$((killed_ms - last))" -le 10000
stopped_cleanly "it stops cleanly after a kill -9"

# ---- kill -9 at random moments ----------------------------------------------------------
# Memory flips between 94 % and 50 % every 70 ms: an event nearly every reading.
flip() {
  local i=0
  while [ -e "$tmp/flip" ]; do
    set_mem_available $((i % 2 ? 8000000 : 1000000))
    i=$((i + 1)); sleep 0.07
  done
}
touch "$tmp/flip"; flip & flipper=$!
: >"$tmp/seen"
kills=0
for round in $(seq 30); do
  run
  started || { not_ok "round $round: kotod starts" "$(tail -5 "$tmp/kotod.log")"; break; }
  curl -sN -m 3 "$base/api/agent/monitor/stream" 2>/dev/null | sed -n 's/^id: //p' >>"$tmp/seen" &
  streamer=$!
  sleep "0.$((RANDOM % 6 + 2))"
  events | jq '.events[].id' >>"$tmp/seen" 2>/dev/null
  kill -9 "$kotod_pid"; wait "$kotod_pid" 2>/dev/null; kotod_pid=""
  kill "$streamer" 2>/dev/null; wait "$streamer" 2>/dev/null
  kills=$((kills + 1))
done
rm -f "$tmp/flip"; wait "$flipper"
expect_eq "30 kills at random moments" 30 "$kills"
run
started
stored=$(mktemp)
since=0
while :; do # page through the whole log
  page=$(curl -sS "$base/api/agent/monitor/events?since=$since&limit=1000" | jq '.events[].id')
  [ -n "$page" ] || break
  echo "$page" >>"$stored"
  since=$(tail -1 <<<"$page")
done
seen=$(sort -nu "$tmp/seen" | wc -l)
missing=$(sort -nu "$tmp/seen" | comm -23 - <(sort -nu "$stored") | head -5 | tr '\n' ' ')
expect_eq "every event id a client saw before a kill is stored ($seen seen)" "" "$missing"
check "a client saw events in most rounds" test "$seen" -ge 30
expect_eq "stored ids strictly increase, no duplicates" "$(wc -l <"$stored")" \
  "$(sort -nu "$stored" | wc -l)"
check "and in order" bash -c "sort -nc '$stored'"
stopped_cleanly "stops cleanly after the kills"

# ---- a corrupt file is moved aside ---------------------------------------------------------
printf 'not a database at all, just words; and some more words to be sure\n' >"$state/koto.db"
rm -f "$state/koto.db-wal" "$state/koto.db-shm"
run
started || { not_ok "starts on a corrupt file" "$(cat "$tmp/kotod.log")"; finish; exit; }
expect_eq "the store starts afresh" "ok" "$(status | jq -r .store.state)"
check "status says the file was moved aside" bash -c "curl -sS '$base/api/agent/monitor/status' | jq -r .store.message | grep -q 'moved to'"
check "the damaged file is kept beside" bash -c "ls '$state' | grep -q '^koto.db.corrupt-'"
stopped_cleanly "stops cleanly beside a damaged file"

# ---- a newer schema is refused and left alone ---------------------------------------------
sqlite3 "$state/koto.db" 'PRAGMA wal_checkpoint(TRUNCATE); PRAGMA user_version = 42;' >/dev/null
sum=$(sha256sum "$state/koto.db")
run
started || { not_ok "starts on a newer database" "$(cat "$tmp/kotod.log")"; finish; exit; }
st=$(status)
expect_eq "the store is off" "off" "$(jq -r .store.state <<<"$st")"
schema=$(sed -n 's/^#define KT_STORE_SCHEMA \([0-9]*\).*/\1/p' "$repo/src/store/kt_store.h")
check "the message names both versions" bash -c "jq -r .store.message <<<'$st' | grep -q 'schema version 42; this kotod knows up to $schema'"
expect_eq "events come from memory" "memory" "$(events | jq -r .source)"
stopped_cleanly "stops cleanly beside a newer schema"
expect_eq "the file is not modified" "$sum" "$(sha256sum "$state/koto.db")"
rm -f "$state"/koto.db*

# ---- a read-only state directory: degraded, then caught up (root: a bind mount) ---------
# ro_dir DIR: DIR read-only for everyone, root included; rw_dir DIR: writable again.
ro_dir() { mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"; }
rw_dir() { mount -o remount,bind,rw "$1"; }
# read_only_case NAME DIR FIRST_ID [RETRIES]: kotod on DIR read-only raises
# an event numbered after FIRST_ID, and writes it once DIR is writable
# again; with RETRIES, it first waits for two tries to write, which must not
# pile up connections.
read_only_case() {
  local name=$1 dir=$2 after=$3
  set_mem_available 8000000
  ro_dir "$dir" || { not_ok "$name: the directory is mounted read-only"; return; }
  run --state-dir "$dir"
  started || { not_ok "$name: kotod starts" "$(cat "$tmp/kotod.log")"; rw_dir "$dir"; umount "$dir"; return; }
  local st
  st=$(status)
  expect_eq "$name: the store is degraded, not off" degraded "$(jq -r .store.state <<<"$st")"
  check "$name: status says why" grep -q "keep.*in memory\|kept in memory" "$tmp/kotod.log"
  set_mem_available 1000000
  if wait_for '[.events[] | select(.type == "memory_high" and .state == "started")] | length >= 1'; then
    ok "$name: events are raised from memory"
  else not_ok "$name: events are raised from memory" "$(events)"; fi
  local id
  id=$(events | jq '[.events[] | select(.type == "memory_high")][-1].id')
  check "$name: ids go on after the file's ($after)" test "$id" -gt "$after"
  if [ -n "${4:-}" ]; then
    sleep 11 # two tries to open it again, every 5 s
    expect_eq "$name: one connection to the file after two tries to write" 1 \
      "$(ls -l "/proc/$kotod_pid/fd" | grep -c '/koto\.db$')"
  fi
  rw_dir "$dir"
  local deadline=$((SECONDS + 20))
  # "ok" comes with the reopened file; the backlog is written just after.
  local now
  until now=$(status | jq -r '"\(.store.state) \(.store.pending)"') && [ "$now" = "ok 0" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
  expect_eq "$name: writable again, it catches up" "ok 0" "$now"
  check "$name: the event raised while read-only is in the store" bash -c \
    "curl -sS '$base/api/agent/monitor/events?limit=1000' | jq -e '.source == \"store\" and ([.events[].id] | index($id)) != null'"
  stopped_cleanly "$name: stops cleanly"
  umount "$dir"
}
if [ "$(id -u)" = 0 ] && mkdir -p "$tmp/robind" && mount --bind "$tmp/robind" "$tmp/robind" 2>/dev/null &&
  umount "$tmp/robind"; then
  trap 'for d in "$tmp/ro1" "$tmp/ro2"; do umount "$d" 2>/dev/null; done; kill_kotod; rm -rf "$tmp"' EXIT
  # A database from an earlier run: it can be read (immutable), not written.
  run --state-dir "$tmp/ro1"
  started || { not_ok "kotod starts on a fresh directory" "$(cat "$tmp/kotod.log")"; }
  set_mem_available 1000000
  wait_for '[.events[] | select(.type == "memory_high")] | length >= 1' || true
  last=$(events | jq .last_id)
  stopped_cleanly "stops cleanly on the fresh directory"
  read_only_case "a read-only database" "$tmp/ro1" "$last" retries
  # No database yet: nothing to read; the file is made when it can be.
  mkdir -m 700 "$tmp/ro2" && cp -p "$tmp/ro1/token" "$tmp/ro2/token"
  read_only_case "a read-only directory without a database" "$tmp/ro2" 0
  expect_eq "the database made late is owner-only" 600 "$(stat -c %a "$tmp/ro2/koto.db")"
else
  echo "skip a read-only state directory: a bind mount needs root"
fi

# ---- a full filesystem: degraded, then caught up (needs root to mount a tmpfs) --------------
if [ "$(id -u)" = 0 ] && mkdir -p "$tmp/small" && mount -t tmpfs -o size=1m tmpfs "$tmp/small" 2>/dev/null; then
  trap 'umount "$tmp/small" 2>/dev/null; kill_kotod; rm -rf "$tmp"' EXIT
  run --state-dir "$tmp/small"
  started || { not_ok "starts on a small tmpfs" "$(cat "$tmp/kotod.log")"; }
  dd if=/dev/zero of="$tmp/small/filler" bs=64k 2>/dev/null # until the disk is full
  set_mem_available 1000000
  deadline=$((SECONDS + 15))
  until [ "$(status | jq -r .store.state)" = degraded ] || [ $SECONDS -ge $deadline ]; do
    set_mem_available $((RANDOM % 2 ? 8000000 : 1000000)); sleep 0.2
  done
  st=$(status)
  expect_eq "a full disk degrades the store" "degraded" "$(jq -r .store.state <<<"$st")"
  check "kotod still answers, from memory" bash -c "curl -sS '$base/api/agent/monitor/events' | jq -e '.source == \"memory\" and .count > 0'"
  rm -f "$tmp/small/filler"
  deadline=$((SECONDS + 20))
  until st=$(status) && [ "$(jq -r '"\(.store.state) \(.store.pending)"' <<<"$st")" = "ok 0" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
  expect_eq "with room again it catches up" "ok 0" "$(jq -r '"\(.store.state) \(.store.pending)"' <<<"$st")"
  last=$(curl -sS "$base/api/agent/monitor/events" | jq .last_id)
  check "the events kept in memory are on disk now" bash -c \
    "curl -sS '$base/api/agent/monitor/events?limit=1' | jq -e '.source == \"store\" and .events[-1].id == $last'"
  stopped_cleanly "stops cleanly on the small tmpfs"
  umount "$tmp/small"
else
  echo "skip a full filesystem: mounting a tmpfs needs root"
fi

# ---- the store the configuration file names, opened while the rules load -------------------
# The store opens on a thread of its own from a first run of the file alone;
# the start takes it only if the whole load wants the same file.
set_mem_available 8000000
thresholds='thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false } }'
# conf_run FILE_BODY: kotod with that configuration file and no --state-dir.
conf_run() {
  printf '%s\n%s\n' "$thresholds" "$1" >"$tmp/early.conf.lua"
  start_kotod -c "$tmp/early.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
    --listen 127.0.0.1:0 --interval 100 --log-level debug
}
conf_run "state_dir = '$tmp/from_file'"
started || { not_ok "starts on the file's state_dir" "$(cat "$tmp/kotod.log")"; finish; exit; }
expect_eq "the file's state_dir has koto.db, the store ok" "600 ok" \
  "$(stat -c %a "$tmp/from_file/koto.db") $(status | jq -r .store.state)"
check "a first start makes it in its turn" \
  bash -c "! grep -q 'opened while the rules loaded' '$tmp/kotod.log'"
stopped_cleanly "stops cleanly"
conf_run "state_dir = '$tmp/from_file'"
started || { not_ok "starts again on the file's state_dir" "$(cat "$tmp/kotod.log")"; finish; exit; }
check "the next start opens it while the rules load" \
  grep -q "store $tmp/from_file/koto.db: opened while the rules loaded" "$tmp/kotod.log"
stopped_cleanly "stops cleanly"

# A file that names a user directory gives way to that directory's own.
cp -r "$repo/lua" "$tmp/lua"
printf '%s\nuser_dir = "%s"\n' "$thresholds" "$tmp/udir" >"$tmp/lua/koto.conf.lua"
mkdir -p "$tmp/udir"
printf '%s\nstate_dir = "%s"\n' "$thresholds" "$tmp/from_user" >"$tmp/udir/koto.conf.lua"
start_kotod --state-dir "$tmp/from_user" --listen 127.0.0.1:0 # makes the store
started && stop_kotod TERM
start_kotod --lua-dir "$tmp/lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
  --listen 127.0.0.1:0 --interval 100 --log-level debug
started || { not_ok "starts on the user directory's state_dir" "$(cat "$tmp/kotod.log")"; finish; exit; }
check "the user directory's file names the store opened while the rules loaded" \
  grep -q "store $tmp/from_user/koto.db: opened while the rules loaded" "$tmp/kotod.log"
stopped_cleanly "stops cleanly"

conf_run "state_dir = '$tmp/no_store'
store = false"
started || { not_ok "starts with store = false" "$(cat "$tmp/kotod.log")"; finish; exit; }
expect_eq "store = false: no database, no store in the status" "none true" \
  "$(ls "$tmp/no_store/koto.db" 2>/dev/null || echo none) $(status | jq '.store == null')"
stopped_cleanly "stops cleanly without a store"

# refused_run FILE_BODY NAME: kotod refuses the file (exit 1).
refused_run() {
  conf_run "$1"
  wait "$kotod_pid"; rc=$?; kotod_pid=""
  expect_eq "$2: exit 1" 1 "$rc"
}
refused_run "state_dir = '$tmp/never'
store_max_mb = 0" "a value the first look applies is wrong"
check "and the refusal names file and line" grep -q "early.conf.lua:4:" "$tmp/kotod.log"
refused_run "state_dir = '$tmp/never'
listn = 1" "a setting the first look skips is wrong"
mkdir -p "$tmp/broken/rules"
echo "return { { name = 'x' " >"$tmp/broken/rules/broken.lua"
refused_run "state_dir = '$tmp/never'
user_dir = '$tmp/broken'" "a rule file is broken"
expect_eq "none of the three makes the state directory" absent \
  "$([ -e "$tmp/never" ] && echo present || echo absent)"

# A refused file that also lowers the cap deletes nothing from the store.
conf_run "state_dir = '$tmp/kept'"
started || { not_ok "starts on a store to keep" "$(cat "$tmp/kotod.log")"; finish; exit; }
set_mem_available 1000000
wait_for '[.events[] | select(.type == "memory_high")] | length == 1' ||
  not_ok "memory_high starts" "$(events)"
set_mem_available 8000000
wait_for '[.events[] | select(.type == "memory_high")] | length == 2' ||
  not_ok "memory_high resolves" "$(events)"
stopped_cleanly "stops cleanly with two events"
refused_run "state_dir = '$tmp/kept'
store_max_events = 1
listn = 1" "a file that lowers the cap and is wrong elsewhere"
conf_run "state_dir = '$tmp/kept'"
started || { not_ok "starts on the kept store again" "$(cat "$tmp/kotod.log")"; finish; exit; }
expect_eq "both events are still there" 2 \
  "$(events | jq '[.events[] | select(.type == "memory_high")] | length')"
stopped_cleanly "stops cleanly on the kept store"
# Nor does it move a damaged store aside: the start that keeps its settings does.
printf 'not a database at all, just words; and some more words to be sure\n' >"$tmp/kept/koto.db"
rm -f "$tmp/kept/koto.db-wal" "$tmp/kept/koto.db-shm"
cp "$tmp/kept/koto.db" "$tmp/damaged.db"
refused_run "state_dir = '$tmp/kept'
listn = 1" "a wrong file beside a damaged store"
expect_eq "the damaged store is left as it is" "koto.db" "$(ls "$tmp/kept" | grep '^koto\.db')"
check "byte for byte" cmp -s "$tmp/damaged.db" "$tmp/kept/koto.db"
expect_eq "and the refused start said nothing of it" 0 "$(grep -c ' error store:\| warn store:' "$tmp/kotod.log")"
conf_run "state_dir = '$tmp/kept'"
started || { not_ok "starts on the damaged store" "$(cat "$tmp/kotod.log")"; finish; exit; }
check "the start that keeps its settings moves it aside" bash -c "ls '$tmp/kept' | grep -q '^koto.db.corrupt-'"
expect_eq "and its log says so, the one error about the store" 1 "$(grep -c ' error store:' "$tmp/kotod.log")"
stopped_cleanly "stops cleanly on a new store"

# A file whose two runs differ (math.random): the start closes the early
# store and opens the one the load wants, which then holds the run's events.
mismatched=""; found=""
for dir in "$tmp/pick1" "$tmp/pick2"; do # stores for the start to open early
  start_kotod --state-dir "$dir" --listen 127.0.0.1:0
  started && stop_kotod TERM
done
for i in $(seq 30); do
  conf_run "state_dir = '$tmp/pick' .. math.random(2)"
  started || { not_ok "starts with a random state_dir" "$(cat "$tmp/kotod.log")"; break; }
  if grep -q "opened while the rules loaded, but the settings want" "$tmp/kotod.log"; then
    mismatched=$(sed -n 's|.*API token [a-z ]* \(.*\)/token .*|\1|p' "$tmp/kotod.log")
    set_mem_available 1000000 # an event for the store
    wait_for '[.events[] | select(.type == "memory_high")] | length == 1' ||
      not_ok "memory_high starts in the store taken at start" "$(events)"
    stopped_cleanly "stops cleanly after taking another store"
    set_mem_available 8000000
    break
  fi
  stop_kotod TERM
done
if [ -n "$mismatched" ]; then
  other=$([ "$mismatched" = "$tmp/pick1" ] && echo "$tmp/pick2" || echo "$tmp/pick1")
  for dir in "$mismatched" "$other"; do
    start_kotod -c "$tmp/early.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
      --listen 127.0.0.1:0 --interval 100 --state-dir "$dir"
    started || not_ok "starts on $dir" "$(cat "$tmp/kotod.log")"
    found="$found $(events | jq '[.events[] | select(.type == "memory_high" and .state == "started")] | length')"
    stop_kotod TERM
  done
  expect_eq "the event is in the store the load wanted, not the early one" " 1 0" "$found"
else
  not_ok "30 starts never drew two different state directories" "$(tail -n 5 "$tmp/kotod.log")"
fi

finish
