#!/usr/bin/env bash
# Installs what koto needs to build and test, from Debian's packages only.
# Installs nothing that is already there, so it is cheap to run every time.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang
  libapr1-dev libaprutil1-dev liblua5.4-dev libjansson-dev libhttp-parser-dev
  libcmocka-dev libaprutil1-dbd-sqlite3 sqlite3 libcurl4-openssl-dev libssl-dev zlib1g-dev nettle-dev openssl python3
  prometheus-alertmanager python3-aiosmtpd tzdata
  jq procps curl prometheus prometheus-node-exporter socat shellcheck
  lintian adduser init-system-helpers
  chromium
)

# Node runs the OpenAPI conformance and browser tests; any recent one will do.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
