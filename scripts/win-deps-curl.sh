#!/usr/bin/env bash
# Cross-builds a static libcurl for Windows (x86_64-w64-mingw32) from
# Debian's curl source package, for kotod.exe's notifications and koto.exe:
# TLS through Schannel (Windows' own, so no OpenSSL in libcurl and the
# system's certificate store), only the protocols koto speaks (HTTP, HTTPS,
# SMTP, SMTPS) and no other library (no zlib, brotli, zstd, IDN, PSL,
# nghttp2, SSH, LDAP). Into
#   ${KT_WIN_DEPS:-$HOME/.cache/koto-win-deps}/curl-<key>
# where <key> hashes the Debian source version, this script and the
# compiler's version, so a second run is a cache hit. Prints the prefix on
# stdout (last line). scripts/win-test.sh passes it as KT_WIN_CURL_PREFIX.
#
# A script of its own beside win-deps.sh: that one's cache key hashes its own
# text, and libcurl need not rebuild APR. The packages and deb-src it sets
# up are taken as given (run it first).
#
# curl's CMake build, not its configure: Debian's source applies the
# patches that rename the library for its GnuTLS and NSS flavours to the
# Makefile.am files (Debian's rules pop them again and rerun autoreconf),
# while CMakeLists.txt is the upstream one, with the same switches
# (CURL_USE_SCHANNEL is configure's --with-schannel), and it takes the
# project's toolchain file like the other dependencies.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CACHE="${KT_WIN_DEPS:-$HOME/.cache/koto-win-deps}"
JOBS="${JOBS:-$(nproc)}"
TRIPLE=x86_64-w64-mingw32
log() { echo "win-deps-curl: $*" >&2; }

command -v "$TRIPLE-gcc" >/dev/null && command -v apt-get >/dev/null ||
  { log "needs the MinGW-w64 toolchain and deb-src: run scripts/win-deps.sh first"; exit 1; }

# ---- the cache key: Debian's curl source version(s) + this script + the compiler --------
versions() { # newest first
  apt-cache showsrc --only-source curl 2>/dev/null | sed -n 's/^Version: //p' | sort -u | sort -rV
}
v="$(versions | tr '\n' ' ')"
[ -n "$v" ] || { log "no source package curl (is deb-src enabled? scripts/win-deps.sh does it)"; exit 1; }
keytext="curl=$v;script=$(sha256sum "$0" | cut -c1-16);gcc=$($TRIPLE-gcc -dumpversion)"
KEY="$(printf '%s' "$keytext" | sha256sum | cut -c1-16)"
PREFIX="$CACHE/curl-$KEY"
if [ -f "$PREFIX/.complete" ]; then
  log "cache hit: $PREFIX"
  echo "$PREFIX"
  exit 0
fi
log "building into $PREFIX ($keytext)"
start=$SECONDS

WORK="$CACHE/work-curl-$KEY"
rm -rf "$WORK" "$PREFIX"
mkdir -p "$WORK"
cd "$WORK"

# ---- the source: newest to oldest (some mirrors 404 on a security .dsc) ---------------
got=""
for ver in $(versions); do
  if apt-get source -qq "curl=$ver" >fetch-curl.log 2>&1; then
    got="$ver"
    break
  fi
  log "source curl $ver failed; trying an older one"
done
[ -n "$got" ] || { tail -20 fetch-curl.log >&2; exit 1; }
src="$(cd "$(find . -maxdepth 1 -type d -name 'curl-[0-9]*' | head -1)" && pwd)"
log "source curl $got"

# ---- the build -----------------------------------------------------------------------
# Every protocol but the four is off, and every optional library is off by
# name (an AUTO lookup would pick up whatever the MinGW sysroot holds).
# CURL_DISABLE_LDAP keeps wldap32 out; Unix sockets are for Linux.
off=(FTP FILE DICT TELNET TFTP RTSP POP3 IMAP GOPHER MQTT SMB LDAP LDAPS)
args=()
for p in "${off[@]}"; do args+=("-DCURL_DISABLE_$p=ON"); done
cmake -S "$src" -B b-curl -G "Unix Makefiles" \
  -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/mingw64.cmake" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DBUILD_SHARED_LIBS=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF -DENABLE_MANUAL=OFF \
  -DCURL_USE_SCHANNEL=ON -DCURL_USE_OPENSSL=OFF -DCURL_WINDOWS_SSPI=ON \
  "${args[@]}" \
  -DCURL_ZLIB=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DUSE_NGHTTP2=OFF \
  -DUSE_LIBIDN2=OFF -DUSE_WIN32_IDN=OFF -DCURL_USE_LIBPSL=OFF \
  -DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBSSH=OFF -DCURL_USE_GSSAPI=OFF \
  -DENABLE_UNIX_SOCKETS=OFF \
  >b-curl.configure.log 2>&1 || { tail -40 b-curl.configure.log >&2; exit 1; }
# What it was configured with, from curl's own summary.
grep -E 'Enabled (features|protocols|SSL backends)' b-curl.configure.log | sed 's/^-- /  /' >&2 || true
cmake --build b-curl -j"$JOBS" --target install >b-curl.log 2>&1 || { tail -40 b-curl.log >&2; exit 1; }

# The protocols are checked, not assumed: curl's summary must list exactly these.
protos="$(sed -n 's/^-- Enabled protocols: //p' b-curl.configure.log)"
[ "$(tr ' ' '\n' <<<"$protos" | sort | tr '\n' ' ')" = "HTTP HTTPS SMTP SMTPS " ] ||
  { log "unexpected protocols: $protos"; exit 1; }

[ -f "$PREFIX/lib/libcurl.a" ] || { log "no $PREFIX/lib/libcurl.a after the install"; exit 1; }

printf '%s\nsource=%s\n' "$keytext" "$got" >"$PREFIX/.versions"
touch "$PREFIX/.complete"
cd "$CACHE" && rm -rf "$WORK"
log "done in $((SECONDS - start)) s: $PREFIX"
echo "$PREFIX"
