#!/usr/bin/env bash
# test_notify_reload.sh KOTOD - a reload applies the notify list and the
# maintenance windows without a restart, against real receivers on loopback
# (webhook_receiver.py) and a real kotod with its store:
#   - channel A, then a reload to A (another url) and B: the next event
#     reaches both, A at its new url; status, /metrics, GET
#     /api/agent/notify and the config show the new set;
#   - A's receiver down with a row pending: a reload that points A at a live
#     receiver delivers that row there, under the same id;
#   - A's receiver down again, a row pending, a reload to B only: the row is
#     marked failed ("removed by a reload") in the outbox and never sent;
#   - a broken notify list on reload is refused with file:line, the running
#     channels go on;
#   - a maintenance window added by a reload silences the next notification;
#   - a channel and a window name more than 32 event types (40 conditions,
#     each with its own type): routing and silencing reach the last one.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

fixture="$repo/tests/fixtures/linux-basic"
cp -r "$fixture/t0" "$tmp/proc"
set_mem_available 8000000 # 50 %: quiet
state="$tmp/state"


outbox() { sqlite3 "file:$state/koto.db?mode=ro" "$1" 2>/dev/null; }
# wait_outbox SQL [SECONDS]: until the query answers something
wait_outbox() {
  local deadline=$((SECONDS + ${2:-15})) got=""
  while [ $SECONDS -lt $deadline ]; do
    got=$(outbox "$1")
    [ -n "$got" ] && { echo "$got"; return 0; }
    sleep 0.1
  done
  return 1
}

# 40 conditions, each its own event type: c01 .. c39 never fire, c40 follows memory.
mkdir -p "$tmp/user/conditions"
for i in $(seq -w 1 40); do
  above=101
  [ "$i" = 40 ] && above=80
  cat >"$tmp/user/conditions/c$i.lua" <<LUA
return { name = "c$i", value = function(r) return r.memory.used_pct end, above = $above, hold = 1,
         message = "c$i at {value:.0f}%" }
LUA
done
cond_types=$(for i in $(seq -w 1 40); do printf '"c%s", ' "$i"; done)

receiver a1; a1=$port
receiver a2; a2=$port
receiver a3; a3=$port
receiver b; b=$port
receiver c; c=$port
down=$(free_port)

# write_conf NOTIFY [MAINTENANCE]
write_conf() {
  cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               process_memory = { enabled = false }, disk = { enabled = false } }
notify = { $1 }
maintenance = { ${2:-} }
LUA
}
chan() { # NAME PORT PATH: a webhook channel for memory_high, quick retries
  printf '{ name = "%s", kind = "webhook", url = "http://127.0.0.1:%s/%s", types = { "memory_high" },
    backoff_ms = 200, backoff_max_ms = 400, timeout_ms = 1000, max_age_s = 3600 },' "$1" "$2" "$3"
}
# The channel for the conditions' types: 41 names, only c40 ever fires.
chan_c="{ name = \"C\", kind = \"webhook\", url = \"http://127.0.0.1:$c/c\", types = { $cond_types \"rule_error\" } },"

write_conf "$(chan A "$a1" a1)"
check "-t accepts the first set" "$KOTOD" -t -c "$tmp/koto.conf.lua" --user-dir "$tmp/user" --state-dir "$state"
start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" --user-dir "$tmp/user" \
  --listen 127.0.0.1:0 --interval 100 --state-dir "$state"
wait_log "dashboard at http://" 15 || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
auth=(-H "Authorization: Bearer $(cat "$state/token")")
status() { curl -sS "$base/api/agent/monitor/status"; }
names() { status | jq -r '[.notify.channels[].name] | join(" ")'; }
reload() { # the answer's status code; the body in $tmp/reload.json
  curl -sS -o "$tmp/reload.json" -w '%{http_code}' "${auth[@]}" -X POST "$base/api/agent/reload"
}
expect_eq "status lists A" "A" "$(names)"

# ---- A at a new url, and B -------------------------------------------------------------
write_conf "$(chan A "$a2" a2) $(chan B "$b" b) $chan_c"
check "-t accepts a channel naming 41 types" "$KOTOD" -t -c "$tmp/koto.conf.lua" --user-dir "$tmp/user" --state-dir "$state"
expect_eq "reload to A (new url), B and C" 200 "$(reload)"
expect_eq "status lists A B C" "A B C" "$(names)"
expect_eq "status shows A's new url" "http://127.0.0.1:$a2/a2" \
  "$(status | jq -r '.notify.channels[] | select(.name == "A") | .url')"
expect_eq "GET /api/agent/notify lists the new set" "A B C" \
  "$(curl -sS "$base/api/agent/notify" | jq -r '[.channels[].name] | join(" ")')"
check "/metrics has B's queue" grep -q '^koto_notification_queue{channel="B"} 0$' <<<"$(curl -sS "$base/metrics")"
conf=$(curl -sS "$base/api/agent/config")
expect_eq "the config: notify and maintenance are reloadable, C names 41 types" "true true 41" \
  "$(jq -r '[(.settings[] | select(.key == "notify" or .key == "maintenance") | .reloadable),
             (.settings[] | select(.key == "notify") | .value[] | select(.name == "C") | .types | length)] | join(" ")' <<<"$conf")"
set_mem_available 1000000 # 94 %
if wait_lines "$tmp/a2.log" 'map(select(.body.data.event.state == "started")) | length == 1' &&
   wait_lines "$tmp/b.log" 'map(select(.body.data.event.state == "started")) | length == 1'; then
  ok "the next event reaches A and B"
else not_ok "the next event reaches A and B" "$(cat "$tmp/a2.log" "$tmp/b.log")"; fi
expect_eq "at their urls, nothing at A's old one" "/a2 /b 0" \
  "$(jq -r -s '.[0].path' "$tmp/a2.log") $(jq -r -s '.[0].path' "$tmp/b.log") $(jq -s length "$tmp/a1.log")"
if wait_lines "$tmp/c.log" 'map(select(.body.data.event.type == "c40")) | length == 1'; then
  ok "the 40th condition's type (past the first 32) reaches C"
else not_ok "the 40th condition's type (past the first 32) reaches C" "$(cat "$tmp/c.log")"; fi
expect_eq "C gets only what it names" 0 \
  "$(jq -s 'map(select(.body.data.event.type != "c40")) | length' "$tmp/c.log")"

# ---- A down with a row pending; a reload points it at a live receiver -----------------
write_conf "$(chan A "$down" a-down) $(chan B "$b" b)"
expect_eq "reload: A's receiver is down, C goes" 200 "$(reload)"
expect_eq "status lists A B" "A B" "$(names)"
set_mem_available 8000000 # resolves
row=$(wait_outbox "SELECT id || ' ' || attempts FROM outbox WHERE channel = 'A' AND state = 'pending' AND attempts >= 2")
if [ -n "$row" ]; then ok "A's resolution waits in the outbox, retried"
else not_ok "A's resolution waits in the outbox, retried" "$(outbox 'SELECT id, channel, state, attempts, error FROM outbox')"; fi
read -r row_id row_attempts <<<"$row"
write_conf "$(chan A "$a3" a3) $(chan B "$b" b)"
expect_eq "reload: A at a live url again" 200 "$(reload)"
if wait_lines "$tmp/a3.log" "map(select(.id == \"$row_id\")) | length == 1"; then
  ok "the pending row is delivered at the new url under the same id"
else not_ok "the pending row is delivered at the new url under the same id" "$row_id" "$(cat "$tmp/a3.log")"; fi
got=$(wait_outbox "SELECT state || ' ' || (attempts > $row_attempts) FROM outbox WHERE id = '$row_id' AND state = 'sent'")
expect_eq "its row is sent, its attempts counted on" "sent 1" "$got"

# ---- A down again with a row pending; a reload removes it ------------------------------
write_conf "$(chan A "$down" a-down) $(chan B "$b" b)"
expect_eq "reload: A down again" 200 "$(reload)"
set_mem_available 1000000
row=$(wait_outbox "SELECT id FROM outbox WHERE channel = 'A' AND state = 'pending' AND attempts >= 1")
if [ -n "$row" ]; then ok "A's next event waits in the outbox"
else not_ok "A's next event waits in the outbox" "$(outbox 'SELECT id, channel, state, attempts, error FROM outbox')"; fi
wait_lines "$tmp/b.log" 'map(select(.body.data.event.state == "started")) | length == 2' >/dev/null
write_conf "$(chan B "$b" b)"
: >"$tmp/kotod.log"
expect_eq "reload to B only" 200 "$(reload)"
expect_eq "status lists B" "B" "$(names)"
m=$(curl -sS "$base/metrics")
if grep -q 'channel="A"' <<<"$m"; then not_ok "/metrics no longer has A" "$(grep 'channel="A"' <<<"$m")"
else ok "/metrics no longer has A"; fi
expect_eq "A's row is marked failed, kept" "failed|removed by a reload" \
  "$(outbox "SELECT state || '|' || error FROM outbox WHERE id = '$row'")"
expect_eq "nothing of A's is pending" 0 "$(outbox "SELECT count(*) FROM outbox WHERE channel = 'A' AND state = 'pending'")"
check "the log says so" grep -q "notify A: removed by a reload; 1 notification waiting for it marked failed" "$tmp/kotod.log"

# ---- a broken notify list is refused; the running channels go on ----------------------
cp "$tmp/koto.conf.lua" "$tmp/good.conf.lua"
write_conf "$(chan B "$b" b)
  { name = \"broken\", kind = \"webhook\", url = \"ftp://127.0.0.1/x\" },"
code=$(reload)
expect_eq "a broken notify list is refused" 422 "$code"
check "naming file:line" jq -e '.error.message | test("koto.conf.lua:[0-9]+: notify\\[2\\].url")' "$tmp/reload.json"
expect_eq "status still lists B" "B" "$(names)"
set_mem_available 8000000
if wait_lines "$tmp/b.log" 'map(select(.body.data.event.state == "resolved")) | length == 2'; then
  ok "B still delivers after the refused reload"
else not_ok "B still delivers after the refused reload" "$(cat "$tmp/b.log")"; fi
expect_eq "A's receivers got nothing more" "0 1 1" \
  "$(jq -s length "$tmp/a1.log") $(jq -s length "$tmp/a2.log") $(jq -s length "$tmp/a3.log")"

# ---- a maintenance window added by a reload ---------------------------------------------
from=$(date -d '-1 min' +%H:%M); to=$(date -d '+30 min' +%H:%M)
write_conf "$(chan B "$b" b) $chan_c" \
  "{ name = \"now\", start = \"$from\", [\"end\"] = \"$to\", types = { \"memory_high\", $cond_types } },"
expect_eq "reload adds a window" 200 "$(reload)"
expect_eq "status shows it open" "now:true" \
  "$(status | jq -r '[.notify.maintenance[] | "\(.name):\(.open)"] | join(" ")')"
: >"$tmp/c.log"
set_mem_available 1000000
events() { curl -sS "$base/api/agent/monitor/events?event_type=$1"; }
deadline=$((SECONDS + 15))
until events c40 | jq -e '.events[-1].state == "started"' >/dev/null 2>&1 &&
  events memory_high | jq -e '.events[-1].state == "started"' >/dev/null 2>&1 ||
  [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "the next events are marked with the window" "maintenance now maintenance now" \
  "$(events memory_high | jq -r '.events[-1].silenced') $(events c40 | jq -r '.events[-1].silenced')"
sleep 1.5 # what would have been sent has had its time
expect_eq "and not sent" "2 0" \
  "$(jq -s 'map(select(.body.data.event.state == "started")) | length' "$tmp/b.log") $(jq -s length "$tmp/c.log")"
# ---- reloads while attempts are in flight and readers poll -------------------------------
# H's receiver never answers, so H always has an attempt in flight; the set
# changes under it (kept, moved, removed, back) while the API, /metrics and
# test messages read and use it. Under ThreadSanitizer this is the race hunt.
receiver hang --hang; hang=$port
write_conf "$(chan H "$hang" h) $(chan B "$b" b)"
reload >/dev/null
set_mem_available 8000000
(while [ ! -e "$tmp/reloads.done" ]; do
   curl -sS "$base/api/agent/monitor/status" >/dev/null
   curl -sS "$base/metrics" >/dev/null
   curl -sS "${auth[@]}" -X POST -d '{"channel":"H"}' "$base/api/agent/notify/test" >/dev/null
 done) &
poller=$!
codes=""
for i in $(seq 12); do
  case $((i % 4)) in
    0) write_conf "$(chan H "$hang" h) $(chan B "$b" b)" ;;
    1) write_conf "$(chan B "$b" b) $(chan H "$hang" h2)" ;;
    2) write_conf "$(chan B "$b" b)" ;;
    3) write_conf "$(chan H "$a1" h1) $(chan B "$b" b)" ;;
  esac
  [ $((i % 3)) = 0 ] && set_mem_available $((i % 2 ? 1000000 : 8000000))
  codes="$codes$(reload)"
  sleep 0.2
done
touch "$tmp/reloads.done"
wait "$poller"
expect_eq "twelve reloads under load, each applied" "$(printf '200%.0s' $(seq 12))" "$codes"
expect_eq "the last set is in force" "H B" "$(names)"
check "kotod is alive and answers" curl -fsS -o /dev/null "$base/api/agent/monitor/status"
stop_kotod TERM
expect_eq "stops cleanly with an attempt in flight" 0 "$kotod_rc"
finish
