#!/usr/bin/env bash
# test_tls.sh KOTOD - HTTPS end to end: the real kotod on a loopback TLS
# listener with a CA and certificates made here by the openssl command,
# driven with curl, openssl s_client and tls_client.py (raw TLS bytes).
# Protocol floor, kotod -t on bad files, a reload with a new certificate
# while a keep-alive connection and an event stream stay up, handshakes
# that never finish, hostile requests over TLS, mutual TLS, the
# self-signed mode, and plain HTTP refused where others can reach it.
KOTOD=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
client="$here/tls_client.py"

# ---- certificates -----------------------------------------------------------------------------
pki="$tmp/pki"
mkdir -p "$pki"
ossl() { openssl "$@" 2>>"$pki/openssl.log"; }
# newcert NAME CN: a P-256 key and a certificate for localhost signed by the CA.
newcert() {
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$1.key" \
    -out "$pki/$1.csr" -subj "/CN=$2"
  ossl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 30 -out "$pki/$1.pem" -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
}
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/ca.key" \
  -out "$pki/ca.pem" -days 30 -subj "/CN=koto test CA"
newcert one "kotod one"
newcert two "kotod two"
newcert client "a client"
# An expired certificate: signed by `openssl ca` with dates in the past.
mkdir -p "$pki/db" && : >"$pki/db/index.txt" && echo 01 >"$pki/db/serial"
cat >"$pki/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $pki/db/index.txt
new_certs_dir = $pki/db
serial = $pki/db/serial
default_md = sha256
policy = p
[p]
commonName = supplied
CNF
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/old.key" \
  -out "$pki/old.csr" -subj "/CN=kotod old"
ossl ca -batch -config "$pki/ca.cnf" -cert "$pki/ca.pem" -keyfile "$pki/ca.key" -notext \
  -in "$pki/old.csr" -out "$pki/old.pem" -startdate 20200101000000Z -enddate 20200201000000Z
check "the test's certificates were made" test -s "$pki/one.pem" -a -s "$pki/two.pem" -a -s "$pki/old.pem"

conf() { printf '%s\n' "$@" >"$tmp/koto.conf.lua"; }
tcheck() { "$KOTOD" -t -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --state-dir "$tmp/state" 2>"$tmp/err"; }

# ---- kotod -t -------------------------------------------------------------------------------
conf "tls = { cert = \"$pki/old.pem\", key = \"$pki/old.key\" }"
tcheck; expect_eq "-t refuses an expired certificate" 1 $?
check "and says when it expired" grep -q "old.pem expired on 2020-02-01" "$tmp/err"
conf "tls = { cert = \"$pki/one.pem\", key = \"$pki/two.key\" }"
tcheck; expect_eq "-t refuses a key that is not the certificate's" 1 $?
check "and names both files" grep -q "the TLS key $pki/two.key does not match the certificate $pki/one.pem" "$tmp/err"
conf "tls = { cert = \"$pki/nowhere.pem\", key = \"$pki/one.key\" }"
tcheck; expect_eq "-t refuses a missing certificate" 1 $?
check "and says it cannot open it" grep -q "cannot open the TLS certificate $pki/nowhere.pem" "$tmp/err"
conf "tls = { cert = \"$pki/ca.cnf\", key = \"$pki/one.key\" }"
tcheck; expect_eq "-t refuses a file that is no certificate" 1 $?
check "and says so" grep -q "ca.cnf is not a PEM certificate" "$tmp/err"
conf "tls = { cert = \"$pki/one.pem\" }"
tcheck; expect_eq "-t refuses a certificate without its key" 1 $?
conf 'tls = "self-signd"'
tcheck; expect_eq "-t refuses a tls string other than self-signed" 1 $?
conf "tls = { cert = \"$pki/one.pem\", key = \"$pki/one.key\" }"
tcheck; expect_eq "-t accepts a good pair" 0 $?
check "and logs its fingerprint" grep -q "SHA-256 fingerprint $(fingerprint "$pki/one.pem")" "$tmp/err"
# On Linux TLS is a module beside kotod (koto_tls.so), loaded only when
# the configuration asks: a kotod without it says so and how to go on.
if [ -e "$(dirname "$KOTOD")/koto_tls.so" ]; then
  mkdir -p "$tmp/lone" && cp "$KOTOD" "$tmp/lone/kotod"
  "$tmp/lone/kotod" -t -c "$tmp/koto.conf.lua" --lua-dir "$repo/lua" --listen 127.0.0.1:0 \
    --state-dir "$tmp/state" 2>"$tmp/err"
  expect_eq "-t without the TLS module refuses TLS" 1 $?
  check "and names the module it looked for" grep -q "cannot load the TLS module $tmp/lone/koto_tls.so" "$tmp/err"
fi

# ---- plain HTTP where other machines can reach it ----------------------------------------------
conf 'interval_ms = 1000'
"$KOTOD" -c "$tmp/koto.conf.lua" --listen 0.0.0.0:0 --state-dir "$tmp/state" 2>"$tmp/err" >/dev/null & p=$!
bg_pids+=("$p")
deadline=$((SECONDS + 10)); while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
wait "$p"; expect_eq "plain HTTP on 0.0.0.0 does not start" 1 $?
check "and says how to fix it" grep -q 'refusing plain HTTP on 0.0.0.0:0.*tls = "self-signed".*allow_plain_http = true' "$tmp/err"

# ---- serving HTTPS ---------------------------------------------------------------------------
cp "$pki/one.pem" "$pki/live.pem"; cp "$pki/one.key" "$pki/live.key"
conf "tls = { cert = \"$pki/live.pem\", key = \"$pki/live.key\" }"
start_kotod -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --interval 200 --state-dir "$tmp/state" \
  --web-dir "$repo/web"
if ! wait_log "dashboard at https://"; then
  not_ok "kotod serves HTTPS and logs its address" "$(cat "$tmp/kotod.log")"; finish; exit
fi
port=$(sed -n 's|.*dashboard at https://[^/]*:\([0-9]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
base="https://localhost:$port"
ok "kotod serves on $base"
check "the start logs the certificate's fingerprint" \
  grep -q "SHA-256 fingerprint $(fingerprint "$pki/one.pem")" "$tmp/kotod.log"
cacurl() { curl -sS --cacert "$pki/ca.pem" "$@"; }

code=$(cacurl -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$base/api/agent/monitor/status")
expect_eq "curl with the CA reads the status" 200 "$code"
hdr() { tr -d '\r' <"$tmp/head" | grep -i "^$1:" | head -1 | sed 's/^[^:]*: //'; }
expect_eq "Strict-Transport-Security on TLS" "max-age=31536000" "$(hdr Strict-Transport-Security)"
expect_eq "X-Content-Type-Options" nosniff "$(hdr X-Content-Type-Options)"
expect_eq "Referrer-Policy" no-referrer "$(hdr Referrer-Policy)"
expect_eq "Cache-Control: no-store on an API answer" no-store "$(hdr Cache-Control)"
cacurl -o /dev/null -D "$tmp/head" "$base/monitoring-dashboard"
check "the dashboard keeps its strict CSP" bash -c "tr -d '\r' <'$tmp/head' | grep -qi \"^content-security-policy: default-src 'self'.*frame-ancestors 'none'\""
expect_eq "and HSTS" "max-age=31536000" "$(hdr Strict-Transport-Security)"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$base/healthz" 2>/dev/null)
expect_eq "curl without the CA refuses the certificate" 000 "$code"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz" 2>/dev/null)
check "plain HTTP to the TLS port gets no answer" test "$code" != 200
n=$(cacurl -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' "$base/healthz" "$base/healthz" "$base/api/agent/monitor/status" | awk '{ n += $1 } END { print n }')
expect_eq "keep-alive: three requests, one connection" 1 "$n"

# ---- protocol and cipher floor -----------------------------------------------------------------
sclient() { echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$pki/ca.pem" "$@" 2>&1; }
# The client offers the old versions at security level 0 (its own default
# would refuse to try), so the refusal is the server's: alert 70.
sclient -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' >"$tmp/s"
check "TLS 1.1 is refused by the server (protocol version alert)" bash -c "grep -q 'alert protocol version' '$tmp/s' && grep -q 'Cipher is (NONE)' '$tmp/s'"
sclient -tls1 -cipher 'DEFAULT@SECLEVEL=0' >"$tmp/s"
check "TLS 1.0 is refused by the server" bash -c "grep -q 'alert protocol version' '$tmp/s' && grep -q 'Cipher is (NONE)' '$tmp/s'"
sclient -tls1_2 >"$tmp/s"; check "TLS 1.2 is accepted" grep -q 'New, TLSv1.2, Cipher is ECDHE' "$tmp/s"
check "with a forward-secret AEAD cipher" grep -Eq 'Cipher is ECDHE-[A-Z]+-(AES[0-9]+-GCM|CHACHA20)' "$tmp/s"
check "and a verified chain" grep -q 'Verify return code: 0 (ok)' "$tmp/s"
sclient -tls1_3 >"$tmp/s"; check "TLS 1.3 is accepted" grep -q 'New, TLSv1.3, Cipher is TLS_' "$tmp/s"
sclient -tls1_2 -cipher AES128-SHA >"$tmp/s"; check "TLS 1.2 without forward secrecy (AES128-SHA) is refused" grep -q 'Cipher is (NONE)' "$tmp/s"
sclient -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA >"$tmp/s"; check "TLS 1.2 CBC is refused" grep -q 'Cipher is (NONE)' "$tmp/s"

# ---- hostile HTTP over TLS ---------------------------------------------------------------------
tsend() { python3 "$client" 127.0.0.1 "$port" "$pki/ca.pem" send "$@" >"$tmp/raw" 2>&1; }
status_of() { head -1 "$tmp/raw" | tr -d '\r' | cut -d' ' -f2; }
tsend 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
expect_eq "pipelined over TLS: three answers in order" "200 200 404" "$(grep -ao 'HTTP/1.1 [0-9]*' "$tmp/raw" | cut -d' ' -f2 | paste -sd' ')"
check "and the connection closes after the last" grep -q 'closed=1' "$tmp/raw"
tsend 'POST /api/agent/reload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
expect_eq "smuggling (Content-Length and chunked) over TLS: 400" 400 "$(status_of)"
check "and closed" grep -q 'closed=1' "$tmp/raw"
tsend "GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\\r\\n\\r\\n"
expect_eq "a head over the limit over TLS: 431" 431 "$(status_of)"
tsend 'GET /healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n'
expect_eq "a foreign Host over TLS: 421" 421 "$(status_of)"
tsend 'DELETE /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'
expect_eq "a wrong method over TLS: 405" 405 "$(status_of)"
tsend 'GARBAGE\r\n\r\n'
expect_eq "a broken request line over TLS: 400" 400 "$(status_of)"
check "with a JSON error" grep -q '"error":{"code":' "$tmp/raw"
tsend 'POST /api/agent/reload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nab' 30
expect_eq "a body that stops coming over TLS: 408" 408 "$(status_of)"

# ---- handshakes that never finish ---------------------------------------------------------------
# Half a ClientHello (a record header promising 512 bytes, then nothing) and
# a connection that sends nothing: neither holds up anyone else, and both
# are closed at the head timeout (10 s).
python3 "$client" 127.0.0.1 "$port" - stall 1603010200 20 >"$tmp/stall1" & bg_pids+=("$!"); s1=$!
python3 "$client" 127.0.0.1 "$port" - stall "" 20 >"$tmp/stall2" & bg_pids+=("$!"); s2=$!
sleep 0.5
t0=$(date +%s%N)
for _ in 1 2 3 4 5; do cacurl -o /dev/null "$base/healthz"; done
ms=$((($(date +%s%N) - t0) / 1000000))
# Blocked behind them, they would wait for the 10 s timeout; a loaded
# machine makes five curl starts slow, hence the wide bound.
check "5 new TLS clients are served while two handshakes stall (${ms} ms)" test "$ms" -lt 7000
wait "$s1" "$s2"
check "a half ClientHello is closed at the timeout ($(cat "$tmp/stall1") s)" \
  awk -v s="$(cat "$tmp/stall1")" 'BEGIN { exit !(s != "open" && s >= 8 && s <= 15) }'
check "a silent connection is closed at the timeout ($(cat "$tmp/stall2") s)" \
  awk -v s="$(cat "$tmp/stall2")" 'BEGIN { exit !(s != "open" && s >= 8 && s <= 15) }'

# ---- reload with a new certificate -----------------------------------------------------------
python3 "$client" 127.0.0.1 "$port" "$pki/ca.pem" keepalive "$tmp/go" >"$tmp/ka" 2>&1 & bg_pids+=("$!"); ka=$!
curl -sS -N --cacert "$pki/ca.pem" "$base/api/agent/monitor/stream" >"$tmp/sse" 2>/dev/null & bg_pids+=("$!"); sse=$!
deadline=$((SECONDS + 10))
until grep -q '^first' "$tmp/ka" 2>/dev/null && grep -q '^event: sample' "$tmp/sse" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || break; sleep 0.05
done
one=$(fingerprint "$pki/one.pem" | tr -d :)
expect_eq "the keep-alive connection sees the first certificate" "first 200 $one" "$(cat "$tmp/ka")"
cp "$pki/two.pem" "$pki/live.pem"; cp "$pki/two.key" "$pki/live.key"
kill -HUP "$kotod_pid"
check "SIGHUP reloads the certificate" wait_log "TLS certificate $pki/live.pem reloaded.*$(fingerprint "$pki/two.pem")"
new=$(sclient | openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//')
expect_eq "a new connection gets the new certificate" "$(fingerprint "$pki/two.pem")" "$new"
: >"$tmp/go"
wait "$ka"
check "the keep-alive connection still answers after the reload" grep -q '^second 200' "$tmp/ka"
n0=$(grep -c '^event: sample' "$tmp/sse")
deadline=$((SECONDS + 10))
while [ "$(grep -c '^event: sample' "$tmp/sse")" -le $((n0 + 1)) ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
check "the event stream goes on after the reload" test "$(grep -c '^event: sample' "$tmp/sse")" -gt $((n0 + 1))
kill "$sse" 2>/dev/null
cp "$pki/one.pem" "$pki/live.pem"; cp "$pki/two.key" "$pki/live.key"
kill -HUP "$kotod_pid"
check "a reload with a mismatched key is refused" wait_log "TLS certificate not reloaded, the running one stays: .*does not match"
new=$(sclient | openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//')
expect_eq "and the running certificate stays" "$(fingerprint "$pki/two.pem")" "$new"
stop_kotod TERM
expect_eq "SIGTERM stops the TLS server cleanly" 0 "$kotod_rc"

# ---- mutual TLS --------------------------------------------------------------------------------
conf "tls = { cert = \"$pki/one.pem\", key = \"$pki/one.key\", client_ca = \"$pki/ca.pem\" }"
start_kotod -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --interval 1000 --state-dir "$tmp/state"
wait_log "dashboard at https://"
port=$(sed -n 's|.*dashboard at https://[^/]*:\([0-9]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
code=$(cacurl -o /dev/null -w '%{http_code}' "https://localhost:$port/healthz" 2>/dev/null)
expect_eq "mutual TLS: no client certificate, no answer" 000 "$code"
code=$(cacurl --cert "$pki/client.pem" --key "$pki/client.key" -o /dev/null -w '%{http_code}' "https://localhost:$port/healthz")
expect_eq "mutual TLS: a client certificate signed by the CA is served" 200 "$code"
stop_kotod TERM

# ---- self-signed ----------------------------------------------------------------------------
conf 'tls = "self-signed"' 'server_names = "koto.example"'
start_kotod -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --interval 1000 --state-dir "$tmp/ss"
wait_log "dashboard at https://"
port=$(sed -n 's|.*dashboard at https://[^/]*:\([0-9]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
check "self-signed: the certificate is made in the state directory" test -s "$tmp/ss/tls-cert.pem"
expect_eq "and its key is owner-only" 600 "$(stat -c %a "$tmp/ss/tls-key.pem")"
fp=$(fingerprint "$tmp/ss/tls-cert.pem")
check "and its fingerprint is logged" grep -q "SHA-256 fingerprint $fp" "$tmp/kotod.log"
code=$(curl -sS --cacert "$tmp/ss/tls-cert.pem" -o /dev/null -w '%{http_code}' "https://localhost:$port/healthz")
expect_eq "curl trusting the self-signed certificate is served" 200 "$code"
check "it names the server names too" bash -c "openssl x509 -in '$tmp/ss/tls-cert.pem' -noout -ext subjectAltName | grep -q 'DNS:koto.example'"
stop_kotod TERM
start_kotod -c "$tmp/koto.conf.lua" --listen 127.0.0.1:0 --interval 1000 --state-dir "$tmp/ss"
wait_log "dashboard at https://"
check "a restart keeps the same certificate" grep -q "SHA-256 fingerprint $fp" "$tmp/kotod.log"
check "and does not make another" bash -c "! grep -q 'made a self-signed' '$tmp/kotod.log'"
stop_kotod TERM

# ---- TLS makes a non-loopback listener acceptable --------------------------------------------
conf 'tls = "self-signed"'
"$KOTOD" -t -c "$tmp/koto.conf.lua" --listen 0.0.0.0:0 --state-dir "$tmp/ss" 2>"$tmp/err"
expect_eq "-t accepts 0.0.0.0 with TLS" 0 $?
finish
