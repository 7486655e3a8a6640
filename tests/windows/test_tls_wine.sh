#!/usr/bin/env bash
# test_tls_wine.sh KOTOD_EXE SOURCE_DIR WEB_DIR - kotod.exe's HTTPS under
# Wine (OpenSSL cross-built by scripts/win-deps-openssl.sh, linked in),
# driven from Linux with curl and openssl s_client, as
# tests/integration/test_tls.sh drives the Linux build: kotod -t on a key
# that is not the certificate's, a CA-signed certificate served with the
# token and HSTS, the protocol floor (1.0 and 1.1 refused, 1.2 with a
# forward-secret AEAD cipher and 1.3 accepted), a reload through the API
# with a new certificate while the event stream goes on, a mismatched one
# refused, and the self-signed mode on 0.0.0.0 with the dashboard's login
# over HTTPS. Runs inside scripts/win-test.sh, which provides WINEPREFIX and
# a persistent wineserver.
KOTOD=$1
SRC=$(cd "$2" && pwd)
WEB=$(cd "$3" && pwd)
. "$SRC/tests/integration/lib.sh"
: "${WINEPREFIX:?run through scripts/win-test.sh (it sets up Wine)}"
bg_pids=()
DIR="$WINEPREFIX/drive_c/koto-tls" # C:\koto-tls
trap 'for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done; kill_kotod; rm -rf "$tmp" "$DIR"' EXIT
rm -rf "$DIR"
mkdir -p "$DIR"
# Linux files as Windows sees them, with '/' (which Windows takes too), so
# they go into koto.conf.lua's strings without escapes.
zpath() { echo "Z:$1"; }
common=(--lua-dir "$(zpath "$SRC/lua")" --web-dir "$(zpath "$WEB")")
log() { tr -d '\r' <"$tmp/kotod.log"; }

# ---- certificates, made by the openssl command ---------------------------------------------------
pki="$tmp/pki"
mkdir -p "$pki"
ossl() { openssl "$@" 2>>"$pki/openssl.log"; }
newcert() { # NAME CN: a P-256 key and a certificate for localhost signed by the CA
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
check "the test's certificates were made" test -s "$pki/one.pem" -a -s "$pki/two.pem"

conf() { printf '%s\n' "$@" >"$tmp/koto.conf.lua"; }
tcheck() {
  wine "$KOTOD" -t -c "$(zpath "$tmp/koto.conf.lua")" --listen 127.0.0.1:0 \
    --state-dir 'C:\koto-tls\state' "${common[@]}" </dev/null >/dev/null 2>"$tmp/err"
}

# ---- kotod -t --------------------------------------------------------------------------------
conf "tls = { cert = \"$(zpath "$pki/one.pem")\", key = \"$(zpath "$pki/two.key")\" }"
tcheck; expect_eq "kotod.exe -t refuses a key that is not the certificate's" 1 $?
check "and names both files" grep -q \
  "the TLS key $(zpath "$pki/two.key") does not match the certificate $(zpath "$pki/one.pem")" "$tmp/err"
conf "tls = { cert = \"$(zpath "$pki/nowhere.pem")\", key = \"$(zpath "$pki/one.key")\" }"
tcheck; expect_eq "kotod.exe -t refuses a missing certificate" 1 $?
check "and says it cannot open it" grep -q "cannot open the TLS certificate $(zpath "$pki/nowhere.pem")" "$tmp/err"
conf "tls = { cert = \"$(zpath "$pki/one.pem")\", key = \"$(zpath "$pki/one.key")\" }"
tcheck; expect_eq "kotod.exe -t accepts a good pair" 0 $?
check "and logs its fingerprint" grep -q "SHA-256 fingerprint $(fingerprint "$pki/one.pem")" "$tmp/err"

# start LISTEN STATE_DIR_NAME: kotod.exe in the foreground; sets port and token.
start() {
  : >"$tmp/kotod.log"
  wine "$KOTOD" --foreground -c "$(zpath "$tmp/koto.conf.lua")" --listen "$1" --interval 200 \
    --state-dir "C:\\koto-tls\\$2" "${common[@]}" </dev/null >"$tmp/kotod.out" 2>"$tmp/kotod.log" &
  kotod_pid=$!
  for _ in $(seq 600); do # Wine starts slowly; a kotod that exits is not waited for
    log | grep -q "dashboard at https://" && break
    kill -0 "$kotod_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! log | grep -q "dashboard at https://"; then
    not_ok "kotod.exe serves HTTPS and logs its address" "$(log | tail -20)"; finish; exit
  fi
  port=$(log | sed -n 's|.*dashboard at https://[^/]*:\([0-9]*\)/.*|\1|p' | head -1)
  token=$(tr -d '\r\n' <"$DIR/$2/token")
}
# stop: Ctrl-C (SIGINT under Wine), a clean stop within 10 s.
stop() {
  kill -INT "$kotod_pid"
  for _ in $(seq 200); do kill -0 "$kotod_pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$kotod_pid" 2>/dev/null; then kotod_rc=timeout; kill -9 "$kotod_pid"; wait "$kotod_pid"
  else wait "$kotod_pid"; kotod_rc=$?; fi
  kotod_pid=""
}
wait_log() { # PATTERN: up to 20 s
  for _ in $(seq 200); do log | grep -q -- "$1" && return 0; sleep 0.1; done
  return 1
}

# ---- serving HTTPS with given files --------------------------------------------------------------
cp "$pki/one.pem" "$pki/live.pem"; cp "$pki/one.key" "$pki/live.key"
conf "tls = { cert = \"$(zpath "$pki/live.pem")\", key = \"$(zpath "$pki/live.key")\" }"
start 127.0.0.1:0 state
base="https://localhost:$port"
ok "kotod.exe serves on $base"
check "the start logs the certificate's fingerprint" \
  bash -c "tr -d '\r' <'$tmp/kotod.log' | grep -q 'SHA-256 fingerprint $(fingerprint "$pki/one.pem")'"
cacurl() { curl -sS --cacert "$pki/ca.pem" "$@"; }
auth=(-H "Authorization: Bearer $token")
code=$(cacurl -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "${auth[@]}" "$base/api/agent/monitor/status")
expect_eq "curl with the CA and the token reads the status" 200 "$code"
check "the status is kotod.exe's" jq -e '.health' "$tmp/body"
hdr() { tr -d '\r' <"$tmp/head" | grep -i "^$1:" | head -1 | sed 's/^[^:]*: //'; }
expect_eq "Strict-Transport-Security on TLS" "max-age=31536000" "$(hdr Strict-Transport-Security)"
code=$(cacurl -o /dev/null -w '%{http_code}' -X POST "$base/api/agent/reload" 2>/dev/null)
expect_eq "a change without the token: 401" 401 "$code"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$base/healthz" 2>/dev/null)
expect_eq "curl without the CA refuses the certificate" 000 "$code"
n=$(cacurl -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' "$base/healthz" \
  "$base/healthz" "$base/healthz" | awk '{ n += $1 } END { print n }')
expect_eq "keep-alive: three requests, one connection" 1 "$n"

# ---- protocol and cipher floor ---------------------------------------------------------------------
sclient() { echo | timeout 20 openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$pki/ca.pem" "$@" 2>&1; }
# The client offers the old versions at security level 0 (its own default
# would refuse to try), so the refusal is the server's: alert 70.
sclient -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' >"$tmp/s"
check "TLS 1.1 is refused by the server (protocol version alert)" bash -c "grep -q 'alert protocol version' '$tmp/s' && grep -q 'Cipher is (NONE)' '$tmp/s'"
sclient -tls1 -cipher 'DEFAULT@SECLEVEL=0' >"$tmp/s"
check "TLS 1.0 is refused by the server" bash -c "grep -q 'alert protocol version' '$tmp/s' && grep -q 'Cipher is (NONE)' '$tmp/s'"
sclient -tls1_2 >"$tmp/s"
check "TLS 1.2 is accepted with a forward-secret AEAD cipher" grep -Eq 'New, TLSv1.2, Cipher is ECDHE-[A-Z]+-(AES[0-9]+-GCM|CHACHA20)' "$tmp/s"
check "and a verified chain" grep -q 'Verify return code: 0 (ok)' "$tmp/s"
sclient -tls1_3 >"$tmp/s"; check "TLS 1.3 is accepted" grep -q 'New, TLSv1.3, Cipher is TLS_' "$tmp/s"
sclient -tls1_2 -cipher AES128-SHA >"$tmp/s"; check "TLS 1.2 without forward secrecy is refused" grep -q 'Cipher is (NONE)' "$tmp/s"

# ---- reload with a new certificate (PARAMCHANGE and the API share it) -------------------------------
curl -sS -N --cacert "$pki/ca.pem" "${auth[@]}" "$base/api/agent/monitor/stream" >"$tmp/sse" 2>/dev/null &
sse=$!; bg_pids+=("$sse")
for _ in $(seq 200); do grep -q '^event: sample' "$tmp/sse" 2>/dev/null && break; sleep 0.1; done
cp "$pki/two.pem" "$pki/live.pem"; cp "$pki/two.key" "$pki/live.key"
code=$(cacurl -o /dev/null -w '%{http_code}' -X POST "${auth[@]}" "$base/api/agent/reload")
expect_eq "POST /api/agent/reload with the token" 200 "$code"
check "the reload takes the new certificate" wait_log "TLS certificate $(zpath "$pki/live.pem") reloaded.*$(fingerprint "$pki/two.pem")"
new=$(sclient | openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//')
expect_eq "a new connection gets the new certificate" "$(fingerprint "$pki/two.pem")" "$new"
n0=$(grep -c '^event: sample' "$tmp/sse")
for _ in $(seq 200); do [ "$(grep -c '^event: sample' "$tmp/sse")" -gt $((n0 + 1)) ] && break; sleep 0.1; done
check "the event stream goes on after the reload" test "$(grep -c '^event: sample' "$tmp/sse")" -gt $((n0 + 1))
kill "$sse" 2>/dev/null
cp "$pki/one.pem" "$pki/live.pem"; cp "$pki/two.key" "$pki/live.key"
cacurl -o /dev/null -X POST "${auth[@]}" "$base/api/agent/reload"
check "a reload with a mismatched key is refused" wait_log "TLS certificate not reloaded, the running one stays: .*does not match"
new=$(sclient | openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//')
expect_eq "and the running certificate stays" "$(fingerprint "$pki/two.pem")" "$new"
stop
expect_eq "Ctrl-C stops the TLS server cleanly" 0 "$kotod_rc"

# ---- self-signed, on an address other machines reach ---------------------------------------------
conf 'tls = "self-signed"' 'server_names = "koto.example"'
start 0.0.0.0:0 ss
base="https://localhost:$port"
ss="$DIR/ss"
check "self-signed: the certificate and key are made in the state directory" \
  test -s "$ss/tls-cert.pem" -a -s "$ss/tls-key.pem"
fp=$(fingerprint "$ss/tls-cert.pem")
check "and its fingerprint is logged" bash -c "tr -d '\r' <'$tmp/kotod.log' | grep -q 'SHA-256 fingerprint $fp'"
check "it names the server names too" bash -c "openssl x509 -in '$ss/tls-cert.pem' -noout -ext subjectAltName | grep -q 'DNS:koto.example'"
check "the key is a PEM private key" openssl pkey -in "$ss/tls-key.pem" -noout
# Wine turns the DACL a file is created with into its Unix mode: the key's
# is the token's (SYSTEM and Administrators only), nothing for others.
expect_eq "the key is made owner-only, as the token is" "$(stat -c %a "$ss/token")" \
  "$(stat -c %a "$ss/tls-key.pem")"
expect_eq "and others have no access to it" 0 "$(( 0$(stat -c %a "$ss/tls-key.pem") & 7 ))"
sscurl() { curl -sS --cacert "$ss/tls-cert.pem" "$@"; }
code=$(sscurl -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $token" "$base/healthz")
expect_eq "curl trusting the self-signed certificate (and the token) is served" 200 "$code"
# The dashboard's login over HTTPS: on 0.0.0.0 everything needs the token
# or a session.
code=$(sscurl -o /dev/null -w '%{http_code}' "$base/api/agent/monitor/status")
expect_eq "the API without a login: 401" 401 "$code"
code=$(sscurl -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d "{\"token\": \"$token\"}" "$base/api/agent/session")
expect_eq "the dashboard's login with the token over HTTPS" 200 "$code"
setc=$(hdr Set-Cookie)
check "the session cookie is Secure and HttpOnly" bash -c "grep -q '; Secure' <<<'$setc' && grep -q '; HttpOnly' <<<'$setc'"
cookie=$(sed -n 's/^koto_session=\([^;]*\);.*/\1/p' <<<"$setc")
code=$(sscurl -o /dev/null -w '%{http_code}' -H "Cookie: koto_session=$cookie" "$base/api/agent/monitor/status")
expect_eq "the session cookie reads the status" 200 "$code"
code=$(sscurl -o "$tmp/body" -w '%{http_code}' -H "Cookie: koto_session=$cookie" "$base/monitoring-dashboard")
expect_eq "and opens the dashboard" 200 "$code"
check "which is the dashboard, not the login page" bash -c "! grep -q 'id=\"login-form\"' '$tmp/body'"
stop
expect_eq "Ctrl-C stops it cleanly" 0 "$kotod_rc"
start 0.0.0.0:0 ss
check "a restart keeps the same certificate" bash -c "tr -d '\r' <'$tmp/kotod.log' | grep -q 'SHA-256 fingerprint $fp'"
check "and does not make another" bash -c "! tr -d '\r' <'$tmp/kotod.log' | grep -q 'made a self-signed'"
stop
finish
