#!/usr/bin/env bash
# test_api.sh KOTOD - the REST API end to end: the real kotod on an
# ephemeral loopback port, reading a copy of the linux-basic fixture that the
# test edits to make things happen, driven with curl.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

# A private procfs: t0 with memory at 50 % so nothing fires until we say so.
cp -r "$repo/tests/fixtures/linux-basic/t0" "$tmp/proc"
fixture="$repo/tests/fixtures/linux-basic"
set_mem_available 8000000
# Keep the 62 %-of-memory process below its threshold too, for quiet logs.
sed -i 's/ 2500000 / 250000 /' "$tmp/proc/5000/stat" 2>/dev/null || true

cp "$repo/lua/koto.conf.lua" "$tmp/koto.conf.lua"
start_kotod -c "$tmp/koto.conf.lua" --procfs "$tmp/proc" --sysfs "$repo/tests/fixtures/linux-basic/sys" \
  --listen 127.0.0.1:0 --interval 100 --state-dir "$tmp/state" --web-dir "$repo/web"
if ! wait_log "dashboard at http://"; then
  not_ok "kotod starts and logs its address" "$(cat "$tmp/kotod.log")"; finish; exit
fi
addr=$(sed -n 's|.*dashboard at http://\([^/]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
base="http://$addr"
token=$(cat "$tmp/state/token")
ok "kotod serves on $addr"
check "the token file is owner-only" bash -c "[ \"\$(stat -c %a '$tmp/state/token')\" = 600 ]"
check "the token path is logged" grep -q "API token created in $tmp/state/token" "$tmp/kotod.log"

# get PATH [curl args] -> body in $tmp/body, status in $code, headers in $tmp/head
get() {
  local path=$1; shift
  code=$(curl -sS -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@" "$base$path")
}
post() { local path=$1; shift; get "$path" -X POST "$@"; }
auth=(-H "Authorization: Bearer $token")
body() { jq -r "$1" "$tmp/body"; }
json_error() { # the shape every error has
  jq -e '.error.code | type == "string"' "$tmp/body" >/dev/null &&
    jq -e '.error.message | length > 0' "$tmp/body" >/dev/null
}

# ---- health, status, history ---------------------------------------------------------
get /healthz
expect_eq "GET /healthz" "200 ok" "$code $(body .status)"

sleep 0.4 # a few readings
get /api/agent/monitor/status
expect_eq "status: 200" 200 "$code"
expect_eq "status: running" true "$(body .running)"
expect_eq "status: memory as the fixture says" 50 "$(body .snapshot.memory.used_pct)"
expect_eq "status: health ok" ok "$(body .health.status)"
expect_eq "status: the hostname" koto-fixture "$(body .snapshot.hostname)"
check "status: no full process table" bash -c "jq -e '.snapshot.processes.all == null' '$tmp/body'"
seq1=$(body .snapshot.seq)
sleep 0.3
get /api/agent/monitor/status
check "status: a later reading, not a cached old one" test "$(body .snapshot.seq)" -gt "$seq1"

get "/api/agent/history?metric=memory"
expect_eq "history: 200" 200 "$code"
check "history: points are [time, value]" bash -c "jq -e '.points | length > 0 and (.[-1][1] == 50)' '$tmp/body'"
get "/api/agent/history?metric=bogus"
expect_eq "history: unknown metric is 400" 400 "$code"
check "history: JSON error" json_error

# ---- live events ------------------------------------------------------------------------
curl -sS -N "$base/api/agent/monitor/stream" >"$tmp/stream" 2>&1 &
stream_pid=$!
sleep 0.3
set_mem_available 480000 # 97 % used: memory_high, high severity
deadline=$((SECONDS + 10))
until grep -q '"type":"memory_high"' "$tmp/stream" || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
check "stream: a live event arrives" grep -q '^event: event' "$tmp/stream"
check "stream: samples arrive" grep -q '^event: sample' "$tmp/stream"
check "stream: events carry their id" grep -q '^id: [0-9]' "$tmp/stream"
kill "$stream_pid" 2>/dev/null

get "/api/agent/monitor/events?event_type=memory_high"
expect_eq "events: 200" 200 "$code"
expect_eq "events: the memory event" "memory_high high started" \
  "$(body '.events[0] | "\(.type) \(.severity) \(.state)"')"
expect_eq "events: value and threshold" "97 90" "$(body '.events[0] | "\(.value) \(.threshold)"')"
check "events: top processes named" bash -c "jq -e '.events[0].top_processes | length == 3' '$tmp/body'"
first_id=$(body '.events[0].id')

# Resume: Last-Event-ID replays what came after it.
curl -sS -N -m 1 -H "Last-Event-ID: $((first_id - 1))" "$base/api/agent/monitor/stream" >"$tmp/resume" 2>/dev/null
check "stream: Last-Event-ID replays the log" grep -q "^id: $first_id\$" "$tmp/resume"

get "/api/agent/monitor/events?event_type=bogus"
expect_eq "events: unknown type is 400" 400 "$code"
check "events: JSON error names the value" grep -q bogus "$tmp/body"
get "/api/agent/monitor/events?limit=abc"
expect_eq "events: bad limit is 400" 400 "$code"
get "/api/agent/monitor/events?severity=high&limit=1"
expect_eq "events: severity filter" high "$(body '.events[0].severity')"

set_mem_available 8000000 # back to 50 %: resolved
deadline=$((SECONDS + 10))
until get "/api/agent/monitor/events?since=$first_id" && [ "$(body '.events[0].state')" = resolved ] ||
  [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "events: resolved after the margin" "resolved $first_id" "$(body '.events[0] | "\(.state) \(.started_id)"')"

# ---- state changes need the token, from this origin -------------------------------------
post /api/agent/monitor/stop
expect_eq "stop without token: 401" 401 "$code"
check "stop without token: JSON error" json_error
check "stop without token: WWW-Authenticate" grep -qi '^WWW-Authenticate: Bearer' "$tmp/head"
post /api/agent/monitor/stop -H "Authorization: Bearer wrong"
expect_eq "stop with a wrong token: 401" 401 "$code"
post /api/agent/monitor/stop "${auth[@]}" -H "Origin: http://evil.example"
expect_eq "stop from another origin: 403" 403 "$code"
post /api/agent/monitor/stop "${auth[@]}" -H "Sec-Fetch-Site: cross-site"
expect_eq "stop from a cross-site page: 403" 403 "$code"
post /api/agent/monitor/stop "${auth[@]}"
expect_eq "stop with the token" "200 false" "$code $(body .running)"
get /api/agent/monitor/status
expect_eq "status after stop" false "$(body .running)"
post /api/agent/monitor/start "${auth[@]}" -H "Origin: $base"
expect_eq "start from our own origin" "200 started" "$code $(body .status)"
post /api/agent/monitor/start "${auth[@]}"
expect_eq "start again" "200 already_running" "$code $(body .status)"
post /api/agent/monitor/clear
expect_eq "clear without token: 401" 401 "$code"
post /api/agent/monitor/clear "${auth[@]}"
expect_eq "clear" 200 "$code"
get /api/agent/monitor/events
expect_eq "events after clear" 0 "$(body .count)"
check "no CORS header is ever sent" bash -c "! grep -qi '^Access-Control-' '$tmp/head'"

# ---- metrics ---------------------------------------------------------------------------------
get /metrics
expect_eq "metrics: 200" 200 "$code"
check "metrics: text format" grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/head"
check "metrics: memory ratio from the fixture" grep -q '^koto_memory_used_ratio 0.5$' "$tmp/body"
check "metrics: the event counter" grep -q '^koto_events_total{type="memory_high",severity="high"} 1$' "$tmp/body"
check "metrics: HTTP requests counted" grep -Eq '^koto_http_requests_total\{code="4xx"\} [1-9]' "$tmp/body"
check "metrics: every family has HELP and TYPE" bash -c \
  "[ \$(grep -c '^# HELP' '$tmp/body') -eq \$(grep -c '^# TYPE' '$tmp/body') ]"
if command -v promtool >/dev/null; then
  # But for node_exporter's own camelCase meminfo names (node_memory_MemTotal_bytes).
  check "metrics: promtool check metrics is clean" bash -c "! promtool check metrics <'$tmp/body' 2>&1 |
    grep -v \"^node_memory_[A-Za-z_]* metric names should be written in 'snake_case' not 'camelCase'\$\""
fi

# ---- analysis, scripts, tools -----------------------------------------------------------------
post /api/agent/optimize
expect_eq "optimize: 200" 200 "$code"
check "optimize: a server-sent event stream" grep -qi '^Content-Type: text/event-stream' "$tmp/head"
check "optimize: figures labelled raw" grep -q '^data: {.*"kind":"raw"' "$tmp/body"
expect_eq "optimize: five steps" 5 "$(grep -c '^event: step' "$tmp/body")"
check "optimize: the rules' findings" grep -q '^event: finding' "$tmp/body"
check "optimize: ends with done" grep -q '^event: done' "$tmp/body"
check "optimize: no rule failed" bash -c "! grep -q rule_error '$tmp/body'"

# ---- fix scripts ----------------------------------------------------------------------------
sleep 60 &
victim=$!
post /api/agent/generate-script -d "{\"issue_type\":\"cpu_high\",\"pid\":$victim,\"os\":\"linux\"}"
expect_eq "generate-script: 200" "200 bash" "$code $(body .script_type)"
check "generate-script: a Bash script" bash -c "jq -r .script '$tmp/body' | head -1 | grep -q '^#!/usr/bin/env bash'"
check "generate-script: with the pid" bash -c "jq -r .script '$tmp/body' | grep -q $victim"
jq -r .script "$tmp/body" >"$tmp/fix.sh"
check "generate-script: the script parses" bash -n "$tmp/fix.sh"
check "generate-script: --dry-run says what it would do" bash -c \
  "cd '$tmp' && bash fix.sh --dry-run | grep -q 'would run'"
check "generate-script: --dry-run stopped nothing" kill -0 "$victim"
kill "$victim" 2>/dev/null
post /api/agent/generate-script -d '{"issue_type":"cpu_high","pid":4242,"os":"windows"}'
expect_eq "generate-script: PowerShell on request" powershell "$(body .script_type)"
post /api/agent/generate-script -d '{"issue_type":"cpu_high","process_name":"x$(touch pwned)y"}'
check "generate-script: a hostile name is refused or quoted" bash -c \
  "[ $code = 422 ] || jq -r .script '$tmp/body' | grep -qF \"'x\\\$(touch pwned)y'\""
post /api/agent/generate-script -d '{"issue_type":"no_such_issue"}'
expect_eq "generate-script: unknown issue type is 404" 404 "$code"
post /api/agent/generate-script -d '{"issue_type":"cpu_high","pid":"1; rm -rf /"}'
expect_eq "generate-script: a mistyped parameter is 422" 422 "$code"
post /api/agent/generate-script -d '{"issue_type":"cpu_high","colour":"red"}'
expect_eq "generate-script: an unknown parameter is 422" 422 "$code"
get /api/agent/generate-script/list
expect_eq "generate-script/list: the six templates" 6 "$(body .count)"
post /api/agent/generate-script/save -d '{"script_content":"echo hi\n","filename":"fix.sh"}'
expect_eq "save needs the token" 401 "$code"
post /api/agent/generate-script/save "${auth[@]}" -d '{"script_content":"echo hi\n","filename":"fix.sh"}'
expect_eq "save: 200" 200 "$code"
check "save: the file is in the scripts directory, executable" test -x "$tmp/state/scripts/fix.sh"
post /api/agent/generate-script/save "${auth[@]}" -d '{"script_content":"echo again\n","filename":"fix.sh"}'
expect_eq "save: no overwrite unless asked" 409 "$code"
post /api/agent/generate-script/save "${auth[@]}" -d '{"script_content":"echo again\n","filename":"fix.sh","overwrite":true}'
expect_eq "save: overwrite when asked" 200 "$code"
for bad in '../escape.sh' '/etc/cron.d/x' 'a/b.sh' 'CON' '.hidden'; do
  post /api/agent/generate-script/save "${auth[@]}" -d "{\"script_content\":\"x\",\"filename\":\"$bad\"}"
  expect_eq "save: '$bad' is refused" 422 "$code"
done
check "save: nothing escaped the scripts directory" bash -c "[ ! -e '$tmp/state/escape.sh' ]"

get /api/agent/tools
expect_eq "tools: twelve" 12 "$(body .count)"
check "tools: each has a parameter schema" bash -c "jq -e 'all(.tools[]; .parameters.type == \"object\")' '$tmp/body'"
post /api/agent/tools/get_system_health
expect_eq "tool: get_system_health" "200 ok" "$code $(body .result.status)"
post /api/agent/tools/generate_fix_script -d '{"issue_type":"disk_full","os":"linux"}'
expect_eq "tool: generate_fix_script" 200 "$code"
post /api/agent/tools/suggest_optimizations -d '{"category":"memory"}'
expect_eq "tool: suggest_optimizations" 200 "$code"
post /api/agent/tools/get_system_anomalies -d '{"limit": 5, "severity": "high"}'
expect_eq "tool: get_system_anomalies" 200 "$code"
post /api/agent/tools/get_system_anomalies -d '{"limit": "five"}'
expect_eq "tool: a mistyped parameter is 422" 422 "$code"
check "tool: the message names it" grep -q "limit" "$tmp/body"
post /api/agent/tools/get_system_anomalies -d '{"limit": 5000}'
expect_eq "tool: an out-of-range parameter is 422" 422 "$code"
post /api/agent/tools/get_system_anomalies -d '{"colour": 1}'
expect_eq "tool: an unknown parameter is 422" 422 "$code"
post /api/agent/tools/get_system_anomalies -d '{"limit": 5'
expect_eq "tool: malformed JSON is 400" 400 "$code"
check "tool: with line and column" grep -q "line 1" "$tmp/body"
post /api/agent/tools/stop_system_monitoring
expect_eq "tool: state change needs the token" 401 "$code"
post /api/agent/tools/get_script_type -d '{"os":"windows"}'
expect_eq "tool: get_script_type" powershell "$(body .result.script_type)"
post /api/agent/tools/get_script_type -d '{}'
expect_eq "tool: get_script_type defaults to this build's OS" bash "$(body .result.script_type)"
post /api/agent/tools/no_such_tool
expect_eq "tool: unknown is 404" 404 "$code"

# ---- dashboard files and HTTP errors ----------------------------------------------------------
get /monitoring-dashboard
expect_eq "dashboard: 200" 200 "$code"
check "dashboard: strict CSP" grep -qi "^Content-Security-Policy: default-src 'self'; script-src 'self'" "$tmp/head"
get /monitoring-dashboard/koto.css
check "dashboard: CSS served as CSS" grep -qi '^Content-Type: text/css' "$tmp/head"
get /monitoring-dashboard/../../../etc/passwd --path-as-is
expect_eq "dashboard: .. cannot escape web/" 400 "$code"
get /monitoring-dashboard/%2e%2e/%2e%2e/etc/passwd --path-as-is
expect_eq "dashboard: nor can encoded .." 400 "$code"
get /monitoring-dashboard/.hidden%2fx
expect_eq "dashboard: names outside the plain set are refused" 404 "$code"
ln -sf /etc/passwd "$repo/web/.koto-test-link" 2>/dev/null && {
  get /monitoring-dashboard/.koto-test-link
  expect_eq "dashboard: a symlink out is refused" 404 "$code"
  rm -f "$repo/web/.koto-test-link"
}
get /nope
expect_eq "unknown path: 404" 404 "$code"
check "unknown path: JSON error" json_error
get /api/agent/monitor/start
expect_eq "wrong method: 405" 405 "$code"
check "wrong method: Allow: POST" grep -qi '^Allow: POST' "$tmp/head"

# ---- reload ------------------------------------------------------------------------------------
# A stream open through the reloads: each reload applied says so on it
# ("event: config"), whoever asked for it; a refused one does not.
curl -sS -N "$base/api/agent/monitor/stream" >"$tmp/reload-stream" 2>&1 &
reload_stream_pid=$!
configs() { grep -c '^event: config$' "$tmp/reload-stream"; }
wait_configs() { # N: until the stream has carried N of them, or 10 s
  local deadline=$((SECONDS + 10))
  until [ "$(configs)" -ge "$1" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
}
deadline=$((SECONDS + 10))
until grep -q '^event: sample' "$tmp/reload-stream" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
post /api/agent/reload
expect_eq "reload needs the token" 401 "$code"
post /api/agent/reload "${auth[@]}"
expect_eq "reload" "200 true" "$code $(body .reloaded)"
check "reload: logged" grep -q "reloaded: " "$tmp/kotod.log"
wait_configs 1
expect_eq "reload: the stream says the settings changed" 1 "$(configs)"
cp "$tmp/koto.conf.lua" "$tmp/koto.conf.good"
printf 'thresholds = { memory = { threshold = 150 } }\n' >>"$tmp/koto.conf.lua"
post /api/agent/reload "${auth[@]}"
expect_eq "reload of a broken file: 422" 422 "$code"
check "reload: the error names file and line" grep -q "koto.conf.lua:[0-9]*: thresholds.memory.threshold" "$tmp/body"
post /api/agent/optimize
check "reload: the old rules keep running" grep -q '^event: finding' "$tmp/body"
kill -HUP "$kotod_pid"
check "SIGHUP with a broken file: refused in the log" wait_log "reload refused, the running rules stay"
expect_eq "refused reloads: nothing on the stream" 1 "$(configs)"
# A new threshold takes effect: memory sits at 50 %, so 40 % starts a condition.
cp "$tmp/koto.conf.good" "$tmp/koto.conf.lua"
printf 'thresholds = { memory = { threshold = 40, clear_margin = 5, hold_samples = 1 } }\n' >>"$tmp/koto.conf.lua"
last=$(curl -sS "$base/api/agent/monitor/events" | jq .last_id)
kill -HUP "$kotod_pid"
deadline=$((SECONDS + 10))
until get "/api/agent/monitor/events?since=$last&event_type=memory_high" && [ "$(body .count)" -gt 0 ] ||
  [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "SIGHUP applies a new threshold" "40 started" "$(body '.events[0] | "\(.threshold) \(.state)"')"
wait_configs 2
expect_eq "SIGHUP: the stream says the settings changed" 2 "$(configs)"
kill "$reload_stream_pid" 2>/dev/null
get /api/agent/config
expect_eq "config: shows the setting in force" 40 \
  "$(body '.settings[] | select(.key == "thresholds.memory.threshold") | .value')"
expect_eq "config: says what needs a restart" false \
  "$(body '.settings[] | select(.key == "listen") | .reloadable')"
cp "$tmp/koto.conf.good" "$tmp/koto.conf.lua"

# ---- signals ------------------------------------------------------------------------------------
kill -HUP "$kotod_pid"
sleep 0.2
get /healthz
expect_eq "still serving after SIGHUP" 200 "$code"
curl -sS -N "$base/api/agent/monitor/stream" >/dev/null 2>&1 &
sleep 0.2
stop_kotod TERM
expect_eq "SIGTERM with a stream open stops cleanly" 0 "$kotod_rc"

# ---- a listener other machines can reach --------------------------------------------------------
# Plain HTTP there is refused unless the configuration allows it.
"$KOTOD" -t --procfs "$tmp/proc" --listen 0.0.0.0:0 --state-dir "$tmp/state" 2>"$tmp/err"; rc=$?
expect_eq "plain HTTP on 0.0.0.0 is refused by -t" 1 "$rc"
check "and says how to fix it" grep -q 'refusing plain HTTP on 0.0.0.0:0.*allow_plain_http = true' "$tmp/err"
printf 'allow_plain_http = true\n' >"$tmp/plain.lua"
start_kotod -c "$tmp/plain.lua" --procfs "$tmp/proc" --listen 0.0.0.0:0 --interval 1000 --state-dir "$tmp/state"
wait_log "dashboard at http://"
port=$(sed -n 's|.*dashboard at http://[^/]*:\([0-9]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
base="http://127.0.0.1:$port"
get /api/agent/monitor/status
expect_eq "non-loopback: reads need the token too" 401 "$code"
get /api/agent/monitor/status "${auth[@]}"
expect_eq "non-loopback: with the token" 200 "$code"
# /metrics and /status are answered on the HTTP loop from their kept bodies
# (warm now): pipelined on one connection, mixed with a route that runs on
# a worker, each answer keeps its place and each request its own check.
get /metrics "${auth[@]}"
pipelined=''
for req in "/metrics|" "/metrics|$token" "/api/agent/monitor/events|$token" \
  "/api/agent/monitor/status|" "/api/agent/monitor/status|wrong" "/api/agent/monitor/status|$token" \
  "/healthz|" "/metrics|$token"; do
  pipelined+="GET ${req%%|*} HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
  [ -n "${req#*|}" ] && pipelined+="Authorization: Bearer ${req#*|}\r\n"
  pipelined+="\r\n"
done
pipelined+="GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n"
if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
  printf "$pipelined" >&3
  timeout 10 cat <&3 >"$tmp/pipelined"
  exec 3<&-
fi
# JSON bodies end without a newline: the next answer starts mid-line.
expect_eq "non-loopback: pipelined, answered in order, each checked" \
  "401 200 200 401 401 200 401 200 401" \
  "$(grep -ao 'HTTP/1.1 [0-9]*' "$tmp/pipelined" | awk '{ printf "%s%s", sep, $2; sep = " " }')"
expect_eq "non-loopback: pipelined bodies in order" "error metrics events error error status error metrics error" \
  "$(grep -ao '{"error"\|^# HELP koto_cpu_mode_ratio\|{"events"\|{"running"' "$tmp/pipelined" |
    sed 's/.*error.*/error/; s/.*koto_cpu.*/metrics/; s/.*events.*/events/; s/.*running.*/status/' |
    awk '{ printf "%s%s", sep, $1; sep = " " }')"
stop_kotod TERM

# ---- systemd readiness ------------------------------------------------------------------------
socat -u UNIX-RECV:"$tmp/notify.sock" OPEN:"$tmp/notify.txt",creat,append &
socat_pid=$!
for _ in $(seq 50); do [ -S "$tmp/notify.sock" ] && break; sleep 0.05; done
NOTIFY_SOCKET="$tmp/notify.sock" start_kotod --procfs "$tmp/proc" --listen 127.0.0.1:0 --state-dir "$tmp/state"
wait_log "dashboard at http://"
for _ in $(seq 50); do grep -q READY=1 "$tmp/notify.txt" 2>/dev/null && break; sleep 0.05; done
check "sd_notify: READY=1 once serving" grep -q '^READY=1$' "$tmp/notify.txt"
check "sd_notify: STATUS names the address" grep -q '^STATUS=serving on 127.0.0.1:' "$tmp/notify.txt"
stop_kotod TERM
for _ in $(seq 50); do grep -q STOPPING=1 "$tmp/notify.txt" 2>/dev/null && break; sleep 0.05; done
check "sd_notify: STOPPING=1 on the way out" grep -q 'STOPPING=1$' "$tmp/notify.txt"
kill "$socat_pid" 2>/dev/null

# ---- -t and -d ------------------------------------------------------------------------------------
"$KOTOD" -t --state-dir "$tmp/state" 2>"$tmp/err"; rc=$?
expect_eq "-t on a valid setup exits 0" 0 "$rc"
check "-t says so" grep -q "configuration is valid" "$tmp/err"
"$KOTOD" -t --state-dir "$tmp/state" --listen nonsense 2>"$tmp/err"; rc=$?
expect_eq "-t on a bad listen address exits 1" 1 "$rc"
check "-t names the problem" grep -q "nonsense" "$tmp/err"
"$KOTOD" -t --state-dir "$tmp/state" --procfs /nonexistent 2>"$tmp/err"; rc=$?
expect_eq "-t on a missing procfs exits 1" 1 "$rc"

"$KOTOD" -d --pidfile "$tmp/kotod.pid" --listen 127.0.0.1:0 --state-dir "$tmp/state" --procfs "$tmp/proc"; rc=$?
expect_eq "-d returns at once with 0" 0 "$rc"
for _ in $(seq 50); do [ -s "$tmp/kotod.pid" ] && break; sleep 0.05; done
dpid=$(cat "$tmp/kotod.pid" 2>/dev/null)
check "-d writes its pid" kill -0 "${dpid:-0}"
"$KOTOD" -d --pidfile "$tmp/kotod.pid" --listen 127.0.0.1:0 --state-dir "$tmp/state" --procfs "$tmp/proc" 2>"$tmp/err"; rc=$?
expect_eq "a second -d on the same pidfile exits 1" 1 "$rc"
check "and says it is already running" grep -q "already running (pid $dpid" "$tmp/err"
kill -TERM "${dpid:-0}" 2>/dev/null
for _ in $(seq 100); do kill -0 "${dpid:-0}" 2>/dev/null || break; sleep 0.05; done
check "the detached kotod stops on SIGTERM" bash -c "! kill -0 ${dpid:-0} 2>/dev/null"

finish
