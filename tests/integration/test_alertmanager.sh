#!/usr/bin/env bash
# test_alertmanager.sh KOTOD - koto's conditions in a real Alertmanager
# (Debian's prometheus-alertmanager on loopback) and as Alertmanager's webhook
# payload (version 4) to a receiver on loopback (webhook_receiver.py):
#   - a condition appears in GET /api/v2/alerts with its labels, annotations
#     and generatorURL, and stays while it holds (re-sent with endsAt ahead);
#   - it resolves there when the condition resolves;
#   - the webhook payload has version 4, firing then resolved, and the same
#     fingerprint as Alertmanager computes for the label set;
#   - a test alert, and kotod --test-notify, reach Alertmanager.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

AM=$(command -v prometheus-alertmanager || true)
if [ -z "$AM" ]; then
  echo "prometheus-alertmanager is not installed (scripts/install-deps.sh)"; exit 1
fi

fixture="$repo/tests/fixtures/linux-basic"
cp -r "$fixture/t0" "$tmp/proc"
set_mem_available 8000000
state="$tmp/state"

# ---- Alertmanager and a webhook receiver on loopback ------------------------------------
am_port=$(free_port)
cat >"$tmp/am.yml" <<'YML'
route:
  receiver: nobody
receivers:
  - name: nobody
YML
"$AM" --config.file="$tmp/am.yml" --storage.path="$tmp/am" --web.listen-address="127.0.0.1:$am_port" \
  --cluster.listen-address= >"$tmp/am.log" 2>&1 &
bg_pids+=($!)
am="http://127.0.0.1:$am_port"
deadline=$((SECONDS + 30))
until curl -sf "$am/-/ready" >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
check "Alertmanager is ready" curl -sf "$am/-/ready"

receiver hook
hook_port=$port

cat >"$tmp/koto.conf.lua" <<LUA
thresholds = { memory = { threshold = 80, clear_margin = 5, hold_samples = 1 },
               cpu = { enabled = false }, cpu_spike = { enabled = false },
               process_memory = { enabled = false }, disk = { enabled = false } }
notify = {
  { name = "am", kind = "alertmanager", url = "$am/", resend_s = 1, types = { "memory_high" } },
  { name = "amhook", kind = "webhook", format = "alertmanager",
    url = "http://127.0.0.1:$hook_port/am", types = { "memory_high" } },
}
LUA
check "-t accepts an alertmanager channel" "$KOTOD" -t -c "$tmp/koto.conf.lua" --state-dir "$state"
printf 'notify = { { name = "x", kind = "alertmanager", url = "http://x", format = "koto" } }\n' >"$tmp/bad.lua"
"$KOTOD" -t -c "$tmp/bad.lua" --state-dir "$state" >"$tmp/t.out" 2>&1
check "-t: format is a webhook's field" grep -q "notify\[1\].format is a webhook's field" "$tmp/t.out"

start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$fixture/sys" \
  --listen 127.0.0.1:0 --interval 100 --state-dir "$state"
wait_log "dashboard at http://" 15 || { not_ok "kotod starts" "$(cat "$tmp/kotod.log")"; finish; exit; }
base="http://$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)"

alerts() { curl -sS "$am/api/v2/alerts?filter=job%3D%22koto%22"; }
# wait_am JQ [SECONDS]: until Alertmanager's alerts satisfy it
wait_am() {
  local deadline=$((SECONDS + ${2:-15}))
  while [ $SECONDS -lt $deadline ]; do
    alerts | jq -e "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

set_mem_available 1000000 # 94 %
if wait_am 'map(select(.labels.alertname == "memory_high")) | length == 1'; then
  ok "the condition is an alert in Alertmanager"
else not_ok "the condition is an alert in Alertmanager" "$(alerts)" "$(tail -5 "$tmp/kotod.log")"; fi
a=$(alerts | jq -c 'map(select(.labels.alertname == "memory_high"))[0]')
host=$(jq -r .labels.instance <<<"$a")
expect_eq "its labels" "memory_high high koto yes" \
  "$(jq -r '"\(.labels.alertname) \(.labels.severity) \(.labels.job)"' <<<"$a") $([ -n "$host" ] && echo yes)"
expect_eq "its summary is the event's message" "yes" \
  "$(jq -r '.annotations.summary' <<<"$a" | grep -q 'emory' && echo yes)"
check "its generatorURL is the dashboard" jq -e '.generatorURL | test("^http://127.0.0.1:[0-9]+/monitoring-dashboard$")' <<<"$a"
expect_eq "it is active" active "$(jq -r .status.state <<<"$a")"
am_fp=$(jq -r .fingerprint <<<"$a")
# endsAt four resends (4 s) ahead, moved on by each re-send.
ends1=$(jq -r .endsAt <<<"$a")
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ]; do
  ends2=$(alerts | jq -r 'map(select(.labels.alertname == "memory_high"))[0].endsAt')
  [ "$ends2" != "$ends1" ] && break
  sleep 0.2
done
if [ "$ends2" != "$ends1" ] && [[ "$ends2" > "$ends1" ]]; then ok "re-sent while firing, endsAt moving ahead ($ends1 -> $ends2)"
else not_ok "re-sent while firing, endsAt moving ahead" "$ends1 -> $ends2"; fi

# The webhook in Alertmanager's format (waited for: on a busy machine its
# channel's attempt may come after Alertmanager's).
deadline=$((SECONDS + 15))
until jq -e -s 'map(select(.body.status == "firing")) | length >= 1' "$tmp/hook.log" >/dev/null 2>&1 ||
      [ $SECONDS -ge $deadline ]; do sleep 0.1; done
if jq -e -s 'map(select(.body.status == "firing")) | length >= 1' "$tmp/hook.log" >/dev/null 2>&1; then
  ok "the webhook got the firing payload"
else not_ok "the webhook got the firing payload" "$(cat "$tmp/hook.log")"; fi
w=$(jq -c -s 'map(select(.body.status == "firing"))[0].body' "$tmp/hook.log")
expect_eq "version 4, receiver, one alert" "4 amhook 1 firing 0001-01-01T00:00:00Z" \
  "$(jq -r '"\(.version) \(.receiver) \(.alerts | length) \(.alerts[0].status) \(.alerts[0].endsAt)"' <<<"$w")"
expect_eq "the fingerprint is Alertmanager's own" "$am_fp" "$(jq -r '.alerts[0].fingerprint' <<<"$w")"
expect_eq "groupKey and commonLabels" '{}:{alertname="memory_high"} memory_high' \
  "$(jq -r '"\(.groupKey) \(.commonLabels.alertname)"' <<<"$w")"

set_mem_available 8000000 # back to 50 %
if wait_am 'map(select(.labels.alertname == "memory_high")) | length == 0'; then
  ok "it resolves in Alertmanager"
else not_ok "it resolves in Alertmanager" "$(alerts)"; fi
deadline=$((SECONDS + 10))
until jq -e -s 'map(select(.body.status == "resolved")) | length >= 1' "$tmp/hook.log" >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
r=$(jq -c -s 'map(select(.body.status == "resolved"))[0].body' "$tmp/hook.log")
expect_eq "the webhook got the resolved payload, same fingerprint" "resolved $am_fp" \
  "$(jq -r '"\(.alerts[0].status) \(.alerts[0].fingerprint)"' <<<"$r")"
check "its endsAt is the resolution's time" jq -e '.alerts[0].endsAt != "0001-01-01T00:00:00Z"' <<<"$r"

# ---- test alerts -----------------------------------------------------------------------
token=$(cat "$state/token")
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -X POST \
  -d '{"channel":"am"}' "$base/api/agent/notify/test")
expect_eq "POST /api/agent/notify/test for an alertmanager channel" 200 "$code"
if wait_am 'map(select(.labels.alertname == "koto_test")) | length == 1'; then
  ok "the test alert is in Alertmanager"
else not_ok "the test alert is in Alertmanager" "$(alerts)"; fi
st=$(curl -sS "$base/api/agent/monitor/status")
check "status: the am channel delivered, kind alertmanager" \
  jq -e '.notify.channels[] | select(.name == "am") | .kind == "alertmanager" and .sent >= 2 and .failed == 0' <<<"$st"
stop_kotod TERM
expect_eq "stops cleanly" 0 "$kotod_rc"
"$KOTOD" --test-notify am -c "$tmp/koto.conf.lua" --state-dir "$state" >"$tmp/tn.out" 2>&1
expect_eq "kotod --test-notify am" 0 "$?"
check "it names the push API" grep -q "/api/v2/alerts: HTTP 200" "$tmp/tn.out"
finish
