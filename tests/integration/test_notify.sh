#!/usr/bin/env bash
# test_notify.sh KOTOD - notifications through webhooks, against real
# receivers on loopback (webhook_receiver.py) and a real kotod with its store:
#   - the notify list is checked with file:line (-t), secrets owner-only;
#   - a receiver that answers 503 three times, then 200: one id on every
#     attempt, each signed (Standard Webhooks), retries spaced by the backoff;
#   - a receiver that hangs: the sampler's readings and the other channel go on;
#   - status, /metrics, GET /api/agent/notify and the config's masking;
#   - POST /api/agent/notify/test and kotod --test-notify;
#   - a receiver down while kotod is killed with -9: delivered after the
#     restart with the same id;
#   - kotod killed with -9 between an event's commit and its outbox row (a
#     group window holds it): routed again after the restart, one message
#     per channel, under the id it was due under;
#   - a flapping condition: one flapping_start and one flapping_end are
#     notified, the starts and resolutions in between are logged, not sent,
#     and it still flaps after a restart in between;
#   - silences (API, token, stored across a restart, expired by DELETE) and a
#     maintenance window open now: the events are logged, marked, not sent;
#   - a group window folds the events of one moment into one message;
#     reminders come while a condition holds and stop when it resolves.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

fixture="$repo/tests/fixtures/linux-basic"
cp -r "$fixture/t0" "$tmp/proc"
set_mem_available 8000000 # 50 %: quiet
state="$tmp/state"


run() { start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
          --listen 127.0.0.1:0 --interval 100 --state-dir "$state" "$@"; }
started() {
  wait_log "dashboard at http://" 15 || return 1
  base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"
}
status() { curl -sS "$base/api/agent/monitor/status"; }

# ---- the configuration is checked ---------------------------------------------------
printf 'whsec_%s\n' "$(head -c 24 /dev/urandom | base64)" >"$tmp/secret"
chmod 600 "$tmp/secret"
secret_text=$(cat "$tmp/secret")
check_conf() { # NAME WANT_PATTERN LUA
  printf '%s\n' "$3" >"$tmp/bad.conf.lua"
  "$KOTOD" -t -c "$tmp/bad.conf.lua" --state-dir "$state" >"$tmp/t.out" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] && grep -q -- "$2" "$tmp/t.out"; then ok "$1"
  else not_ok "$1" "rc $rc" "$(cat "$tmp/t.out")"; fi
}
check_conf "-t: a bad url is named with file and line" "bad.conf.lua:2: notify\[1\].url must be" \
  $'\nnotify = { { name = "a", kind = "webhook", url = "ftp://x" } }'
check_conf "-t: an unknown field" "notify\[1\] has an unknown field 'colour'" \
  'notify = { { name = "a", kind = "webhook", url = "http://x", colour = 1 } }'
check_conf "-t: an unknown kind" "notify\[1\].kind must be" \
  'notify = { { name = "a", kind = "pigeon", url = "http://x" } }'
check_conf "-t: names are unique" "notify\[2\].name 'a' is already used" \
  'notify = { { name = "a", kind = "webhook", url = "http://x" }, { name = "a", kind = "webhook", url = "http://y" } }'
check_conf "-t: an unknown event type" "unknown event type 'cpu_hi'" \
  'notify = { { name = "a", kind = "webhook", url = "http://x", types = { "cpu_hi" } } }'
cp "$tmp/secret" "$tmp/open.secret"
chmod 644 "$tmp/open.secret"
check_conf "-t: a secret others can read is refused" "only its owner can read" \
  "notify = { { name = \"a\", kind = \"webhook\", url = \"http://x\", secret_file = \"$tmp/open.secret\" } }"
check_conf "-t: a missing secret file is refused" "cannot be read" \
  "notify = { { name = \"a\", kind = \"webhook\", url = \"http://x\", secret_file = \"$tmp/none\" } }"

# ---- retries, signatures, a hanging receiver -------------------------------------------
receiver flaky --fail 3 --secret "$tmp/secret"; flaky_port=$port
receiver hang --hang; hang_port=$port
cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               process_memory = { enabled = false }, disk = { enabled = false } }
notify = {
  { name = "flaky", kind = "webhook", url = "http://127.0.0.1:$flaky_port/hook",
    secret_file = "$tmp/secret", backoff_ms = 200, types = { "memory_high" },
    send_resolved = false, headers = { Authorization = "Bearer not-for-logs" } },
  { name = "hang", kind = "webhook", url = "http://127.0.0.1:$hang_port/hook", timeout_ms = 1500 },
}
LUA
check "-t accepts the channels" "$KOTOD" -t -c "$tmp/koto.conf.lua" --state-dir "$state"
run
started || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
check "the log names the channels" grep -q "notifying 2 channels" "$tmp/kotod.log"
# Named threads: top -H and ps -L tell them apart. A handler thread starts
# with the first request a handler answers.
curl -sS "$base/healthz" >/dev/null
expect_eq "kotod's threads are named" "koto-http koto-notify koto-remedy koto-sampler koto-store koto-worker" \
  "$(cat /proc/"$kotod_pid"/task/*/comm | grep '^koto-' | sort -u | tr '\n' ' ' | sed 's/ $//')"
# libcurl (and the TLS libraries it pulls in) is loaded by the first
# attempt, not at start; plain HTTP on loopback never maps OpenSSL.
check "no libcurl or OpenSSL mapped before the first notification" \
  sh -c "! grep -qE 'libcurl|libssl|libcrypto' /proc/$kotod_pid/maps"
samples0=$(status | jq .health.samples)
set_mem_available 1000000 # 94 %
if wait_lines "$tmp/flaky.log" 'map(select(.status == 200)) | length == 1' 20; then
  ok "delivered after three 503s"
else not_ok "delivered after three 503s" "$(cat "$tmp/flaky.log")"; fi
check "libcurl is mapped once kotod has sent" grep -q libcurl "/proc/$kotod_pid/maps"
expect_eq "four attempts, one id" "4 1" \
  "$(jq -s 'length' "$tmp/flaky.log") $(jq -s 'map(.id) | unique | length' "$tmp/flaky.log")"
expect_eq "every attempt is signed and verifies" "true" "$(jq -s 'all(.verified)' "$tmp/flaky.log")"
expect_eq "the id is a msg_ id" "yes" "$(jq -r -s '.[0].id' "$tmp/flaky.log" | grep -q '^msg_[0-9a-f]\{32\}$' && echo yes)"
expect_eq "the body is the started event" "koto.event.started memory_high started" \
  "$(jq -r -s '.[0].body | "\(.type) \(.data.event.type) \(.data.event.state)"' "$tmp/flaky.log")"
check "the body links to the dashboard" jq -e -s '.[0].body.data.dashboard | test("^http://127.0.0.1:[0-9]+/monitoring-dashboard$")' "$tmp/flaky.log"
check "the channel's header is sent" jq -e -s '.[0].headers.authorization == "Bearer not-for-logs"' "$tmp/flaky.log"
# The backoff starts at 200 ms and doubles; each wait is in the upper half of its delay.
gaps=$(jq -r -s '[range(1; length) as $i | (.[$i].t - .[$i-1].t)] | map(. * 1000 | floor) | join(" ")' "$tmp/flaky.log")
read -r g1 g2 g3 <<<"$gaps"
if [ "$g1" -ge 100 ] && [ "$g2" -ge 200 ] && [ "$g3" -ge 400 ] && [ "$g3" -gt "$g1" ]; then
  ok "retries are spaced by the backoff ($gaps ms)"
else not_ok "retries are spaced by the backoff" "gaps: $gaps ms"; fi
# The hanging receiver has had the event for well over a second by now.
sleep_until() { local d=$((SECONDS + $1)); while [ $SECONDS -lt $d ]; do sleep 0.1; done; }
samples1=$(status | jq .health.samples)
sleep_until 2
samples2=$(status | jq .health.samples)
if [ $((samples2 - samples1)) -ge 8 ]; then ok "readings go on while a receiver hangs ($((samples2 - samples1)) in 2 s)"
else not_ok "readings go on while a receiver hangs" "$samples1 -> $samples2"; fi
st=$(status)
expect_eq "status: flaky sent 1, retried 3, queue empty" "1 3 0 0" \
  "$(jq -r '.notify.channels[] | select(.name == "flaky") | "\(.sent) \(.retried) \(.queued) \(.failed)"' <<<"$st")"
if jq -e '.notify.channels[] | select(.name == "hang") | .queued >= 1 and (.last_error // "" | test("[Tt]imeout|timed out"))' <<<"$st" >/dev/null; then
  ok "status: the hanging channel waits, with its timeout as the last error"
else not_ok "status: the hanging channel waits, with its timeout as the last error" "$st"; fi
m=$(curl -sS "$base/metrics")
check "/metrics: koto_notifications_total" grep -q '^koto_notifications_total{channel="flaky",result="sent"} 1$' <<<"$m"
check "/metrics: retried counted" grep -q '^koto_notifications_total{channel="flaky",result="retried"} 3$' <<<"$m"
check "/metrics: the queue gauge" grep -q '^koto_notification_queue{channel="hang"} [1-9]' <<<"$m"
expect_eq "GET /api/agent/notify lists both" "flaky hang" \
  "$(curl -sS "$base/api/agent/notify" | jq -r '[.channels[].name] | join(" ")')"

# ---- secrets stay secret -------------------------------------------------------------
conf=$(curl -sS "$base/api/agent/config")
expect_eq "the config shows the secret's file, masked" "$tmp/secret ******** ********" \
  "$(jq -r '.settings[] | select(.key == "notify") | .value[0] | "\(.secret_file) \(.secret) \(.headers.Authorization)"' <<<"$conf")"
if grep -qF -- "${secret_text#whsec_}" <<<"$conf" || grep -qF "not-for-logs" <<<"$conf"; then
  not_ok "the config never shows the secret or a header value"
else ok "the config never shows the secret or a header value"; fi
if grep -qF -- "${secret_text#whsec_}" "$tmp/kotod.log" || grep -qF "not-for-logs" "$tmp/kotod.log"; then
  not_ok "the log never shows the secret or a header value"
else ok "the log never shows the secret or a header value"; fi

# ---- test messages ------------------------------------------------------------------
token=$(cat "$state/token")
auth=(-H "Authorization: Bearer $token")
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d '{"channel":"flaky"}' "$base/api/agent/notify/test")
expect_eq "a test message needs the token" 401 "$code"
code=$(curl -sS -o "$tmp/r.json" -w '%{http_code}' "${auth[@]}" -X POST -d '{"channel":"nope"}' "$base/api/agent/notify/test")
expect_eq "an unknown channel is 404" "404 unknown_channel" "$code $(jq -r .error.code "$tmp/r.json")"
code=$(curl -sS -o "$tmp/r.json" -w '%{http_code}' "${auth[@]}" -X POST -d '{}' "$base/api/agent/notify/test")
expect_eq "a missing channel is 422" 422 "$code"
test_id=$(curl -sS "${auth[@]}" -X POST -d '{"channel":"flaky"}' "$base/api/agent/notify/test" | jq -r .id)
if wait_lines "$tmp/flaky.log" "map(select(.id == \"$test_id\" and .body.type == \"koto.test\" and .verified)) | length == 1"; then
  ok "POST /api/agent/notify/test is delivered, signed"
else not_ok "POST /api/agent/notify/test is delivered, signed" "$test_id" "$(tail -2 "$tmp/flaky.log")"; fi
stop_kotod TERM
expect_eq "stops promptly with a receiver hanging" 0 "$kotod_rc"

"$KOTOD" --test-notify flaky -c "$tmp/koto.conf.lua" --state-dir "$state" >"$tmp/tn.out" 2>&1
expect_eq "kotod --test-notify delivers" "0 1" \
  "$? $(jq -s 'map(select(.body.type == "koto.test")) | length' "$tmp/flaky.log" | awk '{print $1 - 1}')"
"$KOTOD" --test-notify nope -c "$tmp/koto.conf.lua" --state-dir "$state" >"$tmp/tn.out" 2>&1
expect_eq "kotod --test-notify of an unknown channel fails" 1 "$?"

# ---- a receiver down across a kill -9 ---------------------------------------------------
down_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
set_mem_available 8000000
cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               process_memory = { enabled = false }, disk = { enabled = false } }
notify = {
  { name = "down", kind = "webhook", url = "http://127.0.0.1:$down_port/hook",
    secret_file = "$tmp/secret", backoff_ms = 100, backoff_max_ms = 400, timeout_ms = 1000 },
}
LUA
run
started || { not_ok "kotod starts again" "$(cat "$tmp/kotod.log")"; finish; exit; }
outbox() { sqlite3 "file:$state/koto.db?mode=ro" "$1" 2>/dev/null; }
set_mem_available 1000000
deadline=$((SECONDS + 15))
while [ $SECONDS -lt $deadline ]; do
  pending=$(outbox "SELECT id FROM outbox WHERE channel = 'down' AND state = 'pending' AND attempts >= 2")
  [ -n "$pending" ] && break
  sleep 0.1
done
if [ -n "$pending" ]; then ok "the notification waits in the outbox, retried"
else not_ok "the notification waits in the outbox, retried" "$(outbox 'SELECT * FROM outbox')"; fi
kill -9 "$kotod_pid"; wait "$kotod_pid" 2>/dev/null; kotod_pid=""
receiver up --port "$down_port" --secret "$tmp/secret"
run
started || { not_ok "kotod starts after the kill" "$(cat "$tmp/kotod.log")"; finish; exit; }
first=$(head -1 <<<"$pending")
if wait_lines "$tmp/up.log" "map(select(.id == \"$first\" and .status == 200 and .verified)) | length >= 1" 20; then
  ok "delivered after the restart, with the same id"
else not_ok "delivered after the restart, with the same id" "$first" "$(cat "$tmp/up.log")"; fi
check "the log says pending notifications go on" grep -q "left pending by the last run go on" "$tmp/kotod.log"
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ] && [ "$(outbox "SELECT state FROM outbox WHERE id = '$first'")" != sent ]; do sleep 0.1; done
expect_eq "the outbox records it sent" sent "$(outbox "SELECT state FROM outbox WHERE id = '$first'")"
stop_kotod TERM

# ---- a kill -9 between an event's commit and its outbox row -------------------------------
# "held" keeps the event in a group window (memory) for a minute, so the kill
# surely comes before its outbox row; "quick" has none, so the kill comes
# as soon after the commit as the API shows it. Both are due in the store
# from the event's own transaction, and routed again after the restart
# with the id they would have had: sha256("channel\nevent id").
kill_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
kill_conf() { # group window of "held"
cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               process_memory = { enabled = false }, disk = { enabled = false } }
notify = {
  { name = "held", kind = "webhook", url = "http://127.0.0.1:$kill_port/hook", group_s = $1,
    secret_file = "$tmp/secret" },
  { name = "quick", kind = "webhook", url = "http://127.0.0.1:$kill_port/hook",
    secret_file = "$tmp/secret" },
}
LUA
}
set_mem_available 8000000
kill_conf 60
rm -rf "$state"
run
started || { not_ok "kotod starts for the kill" "$(cat "$tmp/kotod.log")"; finish; exit; }
set_mem_available 1000000
deadline=$((SECONDS + 15)); kid=""
while [ $SECONDS -lt $deadline ] && [ -z "$kid" ]; do
  kid=$(curl -sS "$base/api/agent/monitor/events?limit=10" 2>/dev/null |
        jq -r '[.events[] | select(.type == "memory_high" and .state == "started")][0].id // empty')
done
kill -9 "$kotod_pid"; wait "$kotod_pid" 2>/dev/null; kotod_pid=""
if [ -n "$kid" ]; then ok "the event is logged (id $kid), kotod killed at once"
else not_ok "the event is logged" "$(cat "$tmp/kotod.log")"; fi
expect_eq "the held one never reached the outbox before the kill" 0 \
  "$(outbox "SELECT count(*) FROM outbox WHERE channel = 'held'")"
receiver killed --port "$kill_port" --secret "$tmp/secret"
kill_conf 1
run
started || { not_ok "kotod starts after the kill" "$(cat "$tmp/kotod.log")"; finish; exit; }
for ch in held quick; do
  want="msg_$(printf '%s\n%s' "$ch" "$kid" | sha256sum | cut -c1-32)"
  if wait_lines "$tmp/killed.log" "map(select(.id == \"$want\" and .status == 200 and .verified)) | length >= 1" 20; then
    ok "$ch: delivered after the restart, with the id it was due under"
  else not_ok "$ch: delivered after the restart, with the id it was due under" "$want" "$(cat "$tmp/killed.log")"; fi
done
check "the log says the events were routed again" grep -q "events the last run logged are routed again" "$tmp/kotod.log"
expect_eq "one message per channel for the event, none twice" 2 \
  "$(jq -s --argjson id "$kid" '[.[] | select(.status == 200) | select((.body.data.event.id // .body.data.events[0].id) == $id) | .id] | unique | length' "$tmp/killed.log")"
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ] && [ "$(outbox "SELECT count(*) FROM notify_due")" != 0 ]; do sleep 0.1; done
expect_eq "nothing is left due" 0 "$(outbox "SELECT count(*) FROM notify_due")"
stop_kotod TERM

# ---- flapping ---------------------------------------------------------------------------
receiver flap; flap_port=$port
set_mem_available 8000000
cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 0, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               process_memory = { enabled = false }, disk = { enabled = false } }
flapping = { window = 21, high = 20, low = 5 }
notify = { { name = "flap", kind = "webhook", url = "http://127.0.0.1:$flap_port/hook" } }
LUA
rm -rf "$state"
run
started || { not_ok "kotod starts for flapping" "$(cat "$tmp/kotod.log")"; finish; exit; }
events() { curl -sS "$base/api/agent/monitor/events?limit=1000"; }
# Up and down, a few readings each, until kotod calls it flapping and a
# change or two come while it flaps.
# The log is looked at every few changes only: on a busy machine a look
# takes long enough to space the changes out of the flap window.
deadline=$((SECONDS + 40))
high=0 flips=0
while [ $SECONDS -lt $deadline ]; do
  if [ $high = 1 ]; then set_mem_available 8000000; high=0; else set_mem_available 1000000; high=1; fi
  sleep 0.2
  flips=$((flips + 1))
  [ $((flips % 4)) = 0 ] || continue
  curl -sS "$base/api/agent/monitor/events?limit=20" |
    jq -e '[.events[] | select(.state == "flapping_start")] | length >= 1' >/dev/null 2>&1 && break
done
# A restart while it flaps: the condition's history is in the saved state,
# so it still flaps afterwards. The changes that come then are held back,
# and there is no second flapping_start.
stop_kotod TERM
before=$(sqlite3 "file:$state/koto.db?mode=ro" 'SELECT max(id) FROM events')
run
started || { not_ok "kotod starts again while it flaps" "$(cat "$tmp/kotod.log")"; finish; exit; }
for i in 1 2 3 4; do
  if [ $high = 1 ]; then set_mem_available 8000000; high=0; else set_mem_available 1000000; high=1; fi
  sleep 0.3
done
after=$(events | jq -c --argjson b "$before" '[.events[] | select(.id > $b and (.state == "started" or .state == "resolved"))]')
if [ "$(jq 'length' <<<"$after")" -ge 2 ] && [ "$(jq '[.[] | select(.flapping != true)] | length' <<<"$after")" = 0 ]; then
  ok "after a restart it still flaps: its changes are held ($(jq 'length' <<<"$after"))"
else not_ok "after a restart it still flaps: its changes are held" "before $before" "$(events | jq -c ".events[] | {id, state, flapping, while_down}")"; fi
set_mem_available 8000000 # and now steady
if wait_lines "$tmp/flap.log" 'map(select(.body.type == "koto.event.flapping_end")) | length == 1' 30; then
  ok "flapping_start, then flapping_end once it settles, are notified"
else not_ok "flapping_start, then flapping_end once it settles, are notified" "$(events | jq -c '[.events[] | {id, state, flapping}]')"; fi
ev=$(events)
expect_eq "one flapping_start and one flapping_end in the log" "1 1"   "$(jq '[.events[] | select(.state == "flapping_start")] | length' <<<"$ev") $(jq '[.events[] | select(.state == "flapping_end")] | length' <<<"$ev")"
held=$(jq -c '[.events[] | select(.flapping) | .id]' <<<"$ev")
sent=$(jq -c -s '[.[].body.data.event.id]' "$tmp/flap.log")
if [ "$(jq 'length' <<<"$held")" -ge 1 ] && [ "$(jq -n --argjson h "$held" --argjson s "$sent" '[$h[] | select(. as $x | $s | index($x))] | length')" = 0 ]; then
  ok "the changes while it flapped are logged but not sent (held: $held)"
else not_ok "the changes while it flapped are logged but not sent" "held $held" "sent $sent"; fi
expect_eq "the receiver got one of each flapping message" "1 1"   "$(jq -s 'map(select(.body.type == "koto.event.flapping_start")) | length' "$tmp/flap.log") $(jq -s 'map(select(.body.type == "koto.event.flapping_end")) | length' "$tmp/flap.log")"
stop_kotod TERM

# ---- silences and maintenance windows ---------------------------------------------------
receiver quiet; quiet_port=$port
set_mem_available 8000000
write_conf() { # the maintenance list
  cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               process_memory = { enabled = false }, disk = { enabled = false } }
notify = { { name = "quiet", kind = "webhook", url = "http://127.0.0.1:$quiet_port/hook" } }
maintenance = { $1 }
LUA
}
write_conf ''
rm -rf "$state"
run
started || { not_ok "kotod starts for silences" "$(cat "$tmp/kotod.log")"; finish; exit; }
token=$(cat "$state/token")
auth=(-H "Authorization: Bearer $token")
silence() { curl -sS -o "$tmp/s.json" -w '%{http_code}' "$@" "$base/api/agent/silences"; }
expect_eq "making a silence needs the token" 401 \
  "$(silence -X POST -d '{"matchers":{"type":"memory_high"},"duration_s":600,"comment":"x"}')"
expect_eq "a silence needs a comment" "422 bad_parameter" \
  "$(silence "${auth[@]}" -X POST -d '{"matchers":{"type":"memory_high"},"duration_s":600}') $(jq -r .error.code "$tmp/s.json")"
expect_eq "and an end" 422 "$(silence "${auth[@]}" -X POST -d '{"comment":"x"}')"
expect_eq "and known matchers" 422 "$(silence "${auth[@]}" -X POST -d '{"matchers":{"type":"nope"},"duration_s":60,"comment":"x"}')"
code=$(silence "${auth[@]}" -X POST -d '{"matchers":{"type":"memory_high"},"duration_s":600,"comment":"upgrading RAM","created_by":"ana"}')
sil=$(cat "$tmp/s.json")
expect_eq "a silence is made" "200 active ana upgrading RAM" \
  "$code $(jq -r '"\(.state) \(.created_by) \(.comment)"' <<<"$sil")"
sid=$(jq .id <<<"$sil")
set_mem_available 1000000 # 94 %
deadline=$((SECONDS + 15))
until events | jq -e '[.events[] | select(.state == "started")] | length == 1' >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "the event is logged, marked silenced" "silence $sid" \
  "$(events | jq -r '[.events[] | select(.state == "started")][0].silenced')"
check "status shows the silence" bash -c "curl -sS '$base/api/agent/monitor/status' | jq -e '.notify.silences[0].id == $sid'"
stop_kotod TERM
run # the silence is stored
started || { not_ok "kotod starts again" "$(cat "$tmp/kotod.log")"; finish; exit; }
expect_eq "the silence is still there after a restart" "active" \
  "$(curl -sS "$base/api/agent/silences" | jq -r ".silences[] | select(.id == $sid) | .state")"
set_mem_available 8000000 # resolves: silenced too
deadline=$((SECONDS + 15))
until events | jq -e '[.events[] | select(.state == "resolved")] | length == 1' >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "its resolution is silenced as well" "silence $sid" \
  "$(events | jq -r '[.events[] | select(.state == "resolved")][0].silenced')"
expect_eq "expiring needs the token" 401 "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$base/api/agent/silences/$sid")"
expect_eq "an unknown silence is 404" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "${auth[@]}" -X DELETE "$base/api/agent/silences/999")"
expect_eq "DELETE expires it" expired \
  "$(curl -sS "${auth[@]}" -X DELETE "$base/api/agent/silences/$sid" | jq -r .state)"
set_mem_available 1000000
if wait_lines "$tmp/quiet.log" 'map(select(.body.data.event.state == "started")) | length == 1'; then
  ok "once it expired, the next start is notified"
else not_ok "once it expired, the next start is notified" "$(events | jq -c '.events[-1]')"; fi
expect_eq "nothing silenced was sent" 0 \
  "$(jq -s 'map(select(.body.data.event.silenced)) | length' "$tmp/quiet.log")"
stop_kotod TERM

# A window open now (local time), and one that is not.
set_mem_available 8000000
now_h=$(date +%H); now_m=$(date +%M)
from=$(date -d '-1 min' +%H:%M); to=$(date -d '+3 min' +%H:%M)
later_from=$(date -d '+2 hours' +%H:%M); later_to=$(date -d '+3 hours' +%H:%M)
write_conf "{ name = \"now\", start = \"$from\", [\"end\"] = \"$to\", types = { \"memory_high\" } },
  { name = \"later\", start = \"$later_from\", [\"end\"] = \"$later_to\" }"
check "-t accepts maintenance windows" "$KOTOD" -t -c "$tmp/koto.conf.lua" --state-dir "$state"
run
started || { not_ok "kotod starts with windows" "$(cat "$tmp/kotod.log")"; finish; exit; }
: >"$tmp/quiet.log"
set_mem_available 1000000
deadline=$((SECONDS + 15))
until events | jq -e '.events[-1].state == "started"' >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "an event in an open window is marked with it" "maintenance now" "$(events | jq -r '.events[-1].silenced')"
expect_eq "status: which windows are open" "now:true later:false" \
  "$(curl -sS "$base/api/agent/monitor/status" | jq -r '[.notify.maintenance[] | "\(.name):\(.open)"] | join(" ")')"
sleep_until 1
expect_eq "and it is not sent" 0 "$(jq -s length "$tmp/quiet.log")"
stop_kotod TERM
printf 'maintenance = { { name = "x", start = "25:00", ["end"] = "04:00" } }\n' >"$tmp/bad.lua"
"$KOTOD" -t -c "$tmp/bad.lua" --state-dir "$state" >"$tmp/t.out" 2>&1
check "-t: a window's times are HH:MM" grep -q 'bad.lua:1: maintenance\[1\] needs start and end as HH:MM' "$tmp/t.out"

# ---- group windows and reminders --------------------------------------------------------
receiver grouped; grouped_port=$port
receiver remind; remind_port=$port
set_mem_available 1000000 # 94 % from the first reading, with memhog's 62 % of it
cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               process_memory = { threshold = 50, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false }, disk = { enabled = false } }
notify = {
  { name = "grouped", kind = "webhook", url = "http://127.0.0.1:$grouped_port/hook", group_s = 2,
    send_resolved = false },
  { name = "remind", kind = "webhook", url = "http://127.0.0.1:$remind_port/hook", repeat_s = 1,
    types = { "memory_high" } },
}
LUA
printf 'notify = { { name = "a", kind = "alertmanager", url = "http://x", group_s = 5 } }\n' >"$tmp/bad.lua"
"$KOTOD" -t -c "$tmp/bad.lua" --state-dir "$state" >"$tmp/t.out" 2>&1
check "-t: no group window for Alertmanager" grep -q 'notify\[1\].group_s is not for Alertmanager' "$tmp/t.out"
rm -rf "$state"
run
started || { not_ok "kotod starts for groups" "$(cat "$tmp/kotod.log")"; finish; exit; }
if wait_lines "$tmp/grouped.log" 'length >= 1'; then
  g=$(jq -c -s '.[0].body' "$tmp/grouped.log")
  expect_eq "one message with both events of the moment" "koto.events memory_high,process_memory_high" \
    "$(jq -r '"\(.type) \([.data.events[].type] | sort | join(","))"' <<<"$g")"
else not_ok "the group is sent" "$(events | jq -c '[.events[] | {id, type, state}]')"; fi
if wait_lines "$tmp/remind.log" 'map(select(.body.type == "koto.event.reminder")) | length >= 2' 15; then
  ok "reminders come while the condition holds"
else not_ok "reminders come while the condition holds" "$(jq -c -s 'map(.body.type)' "$tmp/remind.log")"; fi
r=$(jq -c -s 'map(select(.body.type == "koto.event.reminder"))' "$tmp/remind.log")
gap=$(jq '(.[1].t - .[0].t) * 1000 | floor' <<<"$r")
if [ "$gap" -ge 900 ]; then ok "a reminder every repeat_s ($gap ms)"; else not_ok "a reminder every repeat_s" "$gap ms"; fi
expect_eq "a reminder names the condition" "memory_high yes" \
  "$(jq -r '.[0].body.data.event.type' <<<"$r") $(jq -r '.[0].body.data.event.message' <<<"$r" | grep -q 'still holds' && echo yes)"
set_mem_available 8000000
wait_lines "$tmp/remind.log" 'map(select(.body.type == "koto.event.resolved")) | length == 1' 15
n1=$(jq -s 'map(select(.body.type == "koto.event.reminder")) | length' "$tmp/remind.log")
sleep_until 3
n2=$(jq -s 'map(select(.body.type == "koto.event.reminder")) | length' "$tmp/remind.log")
expect_eq "and stop once it resolved" "$n1" "$n2"
stop_kotod TERM
finish
