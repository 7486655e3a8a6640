#!/usr/bin/env bash
# test_package.sh BUILD_DIR: the Debian package, end to end on this machine.
# Builds it with cpack (and a later version of it with dpkg-deb), runs
# lintian, and as root installs it with apt, checks the koto user, the
# owner-only /var/lib/koto, the conffile and the unit (enabled, exposure
# under 3.0 by systemd-analyze), runs the installed kotod as koto on a
# loopback port and with TLS from its module, upgrades while a local edit
# of the configuration is kept, then purges and checks that nothing the
# package made is left.
# Skips (77) when not root, or when koto is already on this machine: it
# must leave the machine as it found it.
build=$1
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: installing a package needs root"; exit 77; fi
for tool in cpack dpkg-deb apt-get lintian setpriv; do
  command -v "$tool" >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done
if dpkg-query -W koto >/dev/null 2>&1 || getent passwd koto >/dev/null || getent group koto >/dev/null ||
   [ -e /var/lib/koto ] || [ -e /etc/koto ]; then
  echo "SKIP: koto is already on this machine (package, user or directories)"
  exit 77
fi

installed=""
# Whatever happens, the package and what it made go again.
cleanup() {
  kill_kotod
  if [ -n "$installed" ]; then
    dpkg --purge koto >/dev/null 2>&1
    getent passwd koto >/dev/null && userdel koto 2>/dev/null
    getent group koto >/dev/null && groupdel koto 2>/dev/null
    rm -rf /var/lib/koto /etc/koto
  fi
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$1"
}

# ---- two builds of the package -----------------------------------------------------------------
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
check "cpack builds the package" cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/v1"
# The later version: the same files under a new version number, with its
# own change to the configuration, repacked with dpkg-deb rather than a
# second cpack run (half this test's time).
repack() {
  rm -rf "$tmp/tree" && mkdir -p "$tmp/v2" &&
    dpkg-deb -R "$deb1" "$tmp/tree" &&
    sed -i "s/^Version: .*/Version: $version+1/" "$tmp/tree/DEBIAN/control" &&
    echo "-- as shipped in $version+1" >>"$tmp/tree/etc/koto/koto.conf.lua" &&
    (cd "$tmp/tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
       xargs -0 md5sum >DEBIAN/md5sums) &&
    dpkg-deb --root-owner-group -Zgzip -b "$tmp/tree" "$tmp/v2/koto_${version}+1_$(dpkg --print-architecture).deb" >/dev/null
}
deb1=$(find "$tmp/v1" -maxdepth 1 -name "koto_*.deb" | head -1)
check "a later version of the package" repack
deb2=$(find "$tmp/v2" -maxdepth 1 -name "koto_*.deb" | head -1)
if [ -z "$deb1" ] || [ -z "$deb2" ]; then not_ok "packages found in $tmp"; finish; exit; fi
expect_eq "the package file is named by version" "koto_${version}_$(dpkg --print-architecture).deb" \
  "$(basename "$deb1")"

lintian --no-cfg --allow-root "$deb1" >"$tmp/lintian.out" 2>&1
expect_eq "lintian: no errors" "" "$(grep '^E:' "$tmp/lintian.out")"
expect_eq "lintian: no warnings" "" "$(grep '^W:' "$tmp/lintian.out")"
check "the shared libraries are computed dependencies" \
  sh -c "dpkg-deb -f '$deb1' Depends | grep -q 'libapr1 (>= '"
check "/etc/koto/koto.conf.lua is a conffile" \
  sh -c "dpkg-deb --ctrl-tarfile '$deb1' | tar -xO ./conffiles | grep -qx /etc/koto/koto.conf.lua"

# ---- install -----------------------------------------------------------------------------------
installed=1
check "apt installs the package" apt_install "$deb1"
expect_eq "the koto system user" "koto:/var/lib/koto:/usr/sbin/nologin" \
  "$(getent passwd koto | awk -F: '{print $1 ":" $6 ":" $7}')"
check "koto is a system user" test "$(id -u koto)" -lt 1000
expect_eq "/var/lib/koto is koto's alone" "700 koto koto" "$(stat -c '%a %U %G' /var/lib/koto)"
expect_eq "the configuration is root's, readable" "644 root" "$(stat -c '%a %U' /etc/koto/koto.conf.lua)"
check "the unit is installed" test -f /lib/systemd/system/kotod.service
check "the unit is enabled" test -L /etc/systemd/system/multi-user.target.wants/kotod.service
check "the unit runs kotod as koto" grep -qx 'User=koto' /lib/systemd/system/kotod.service
check "the unit names the installed kotod" grep -q '^ExecStart=/usr/sbin/kotod ' /lib/systemd/system/kotod.service
check "the manual page" test -f /usr/share/man/man8/kotod.8.gz
expect_eq "the root runner is root's" "755 root" "$(stat -c '%a %U' /usr/lib/koto/koto-run-approved 2>&1)"
check "its socket is for root and koto only" grep -qx 'SocketGroup=koto' /lib/systemd/system/koto-run-approved.socket
check "its service names it" grep -q '^ExecStart=/usr/lib/koto/koto-run-approved ' /lib/systemd/system/koto-run-approved@.service
check "its socket is not enabled by the package" test ! -e /etc/systemd/system/sockets.target.wants/koto-run-approved.socket
check "the charting library" test -f /usr/share/koto/web/vendor/uPlot.iife.min.js
if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
  exposure=$(systemd-analyze security --offline=true /lib/systemd/system/kotod.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for kotod.service: \([0-9.]*\).*/\1/p')
  echo "     exposure: $exposure"
  check "systemd-analyze security: exposure under 3.0" awk -v e="${exposure:-99}" 'BEGIN { exit !(e < 3.0) }'
fi

# ---- the installed kotod, as koto --------------------------------------------------------------
KOTOD=setpriv
start_kotod --reuid koto --regid koto --init-groups --inh-caps=-all /usr/sbin/kotod \
  --listen 127.0.0.1:0 --state-dir /var/lib/koto --interval 1000
check "the installed kotod starts as koto" wait_log "dashboard at http://"
port=$(sed -n 's|.*dashboard at http://[^/]*:\([0-9]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
expect_eq "it runs as koto" "koto" "$(ps -o user= -p "$kotod_pid" 2>/dev/null | tr -d ' ')"
check "it read the installed rules" grep -q "loaded [0-9]* rules" "$tmp/kotod.log"
expect_eq "its token is koto's alone" "600 koto" "$(stat -c '%a %U' /var/lib/koto/token 2>&1)"
token=$(cat /var/lib/koto/token 2>/dev/null)
expect_eq "the dashboard is served from share/koto/web" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/monitoring-dashboard/vendor/uPlot.min.css")"
# The process table holds other users' processes: a second reading's top
# memory list, read as koto, names processes that are not koto's.
others=""
for _ in $(seq 100); do
  curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/agent/monitor/status" >"$tmp/status.json"
  others=$(jq -r '.. | objects | select(has("top_memory")) | .top_memory[].pid' "$tmp/status.json" 2>/dev/null |
    while read -r pid; do [ "$(stat -c %U "/proc/$pid" 2>/dev/null)" = koto ] || echo "$pid"; done | head -1)
  [ -n "$others" ] && break
  sleep 0.1
done
check "it reads other users' processes" test -n "$others"
stop_kotod TERM
expect_eq "it stops cleanly" 0 "$kotod_rc"

# TLS lives in a module (lib/koto/koto_tls.so) that the installed kotod
# finds from where it is and loads only when the configuration asks.
printf 'tls = "self-signed"\n' >"$tmp/tls.conf.lua"
KOTOD=/usr/sbin/kotod
start_kotod -c "$tmp/tls.conf.lua" --listen 127.0.0.1:0 --state-dir "$tmp/tls-state" --interval 1000
check "the installed kotod serves TLS through its module" wait_log "dashboard at https://"
port=$(sed -n 's|.*dashboard at https://[^/]*:\([0-9]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
expect_eq "it answers over HTTPS" 200 "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/healthz")"
check "it mapped the module" grep -q '/usr/lib/koto/koto_tls.so' "/proc/$kotod_pid/maps"
stop_kotod TERM

# ---- upgrade: the local edit stays -------------------------------------------------------------
echo "-- a local edit" >>/etc/koto/koto.conf.lua
check "apt upgrades to $version+1" apt_install "$deb2"
expect_eq "the upgraded version" "$version+1" "$(dpkg-query -W -f='${Version}' koto)"
check "the local edit of the configuration is kept" grep -qx -- "-- a local edit" /etc/koto/koto.conf.lua
check "the package's new configuration is beside it" grep -qx -- "-- as shipped in $version+1" /etc/koto/koto.conf.lua.dpkg-dist
check "the state is kept" test -s /var/lib/koto/token
expect_eq "/var/lib/koto is still koto's alone" "700 koto" "$(stat -c '%a %U' /var/lib/koto)"

# ---- purge -------------------------------------------------------------------------------------
check "apt purges the package" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q koto
check "no koto user" sh -c '! getent passwd koto'
check "no koto group" sh -c '! getent group koto'
check "no /var/lib/koto" test ! -e /var/lib/koto
check "no /etc/koto" test ! -e /etc/koto
check "no kotod" test ! -e /usr/sbin/kotod
check "no enable link" test ! -e /etc/systemd/system/multi-user.target.wants/kotod.service
check "no systemd helper state" sh -c '! ls /var/lib/systemd/deb-systemd-helper-enabled 2>/dev/null | grep -q kotod'
installed=""
finish
