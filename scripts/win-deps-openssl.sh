#!/usr/bin/env bash
# Cross-builds OpenSSL's static libssl and libcrypto for Windows
# (x86_64-w64-mingw32) from Debian's source package, into
#   ${KT_WIN_DEPS:-$HOME/.cache/koto-win-deps}/openssl-<key>
# where <key> hashes the Debian source versions, this script and the cross
# gcc version, so a second run is a cache hit. Prints the prefix on stdout
# (last line).
#
# A script of its own, not a step of win-deps.sh: that one's cache key hashes
# its own text, and OpenSSL is the longest build of all, so each rebuilds
# only when its own inputs change. Only the libraries and headers are built
# (no openssl.exe, no tests, no manual pages). deb-src must be enabled
# (win-deps.sh does that); needs root (or sudo) only when packages are missing.
set -euo pipefail

CACHE="${KT_WIN_DEPS:-$HOME/.cache/koto-win-deps}"
JOBS="${JOBS:-$(nproc)}"
TRIPLE=x86_64-w64-mingw32
log() { echo "win-deps-openssl: $*" >&2; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# ---- 1. packages ---------------------------------------------------------------------
packages=(gcc-mingw-w64-x86-64 dpkg-dev make perl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# ---- 2. the cache key -------------------------------------------------------------------
versions() { # all versions of the source package, newest first
  apt-cache showsrc --only-source openssl 2>/dev/null | sed -n 's/^Version: //p' | sort -u | sort -rV
}
v="$(versions | tr '\n' ' ')"
[ -n "$v" ] || { log "no source package openssl (is deb-src enabled? scripts/win-deps.sh enables it)"; exit 1; }
keytext="openssl=$v;script=$(sha256sum "$0" | cut -c1-16);gcc=$($TRIPLE-gcc -dumpversion)"
KEY="$(printf '%s' "$keytext" | sha256sum | cut -c1-16)"
PREFIX="$CACHE/openssl-$KEY"
if [ -f "$PREFIX/.complete" ]; then
  log "cache hit: $PREFIX"
  echo "$PREFIX"
  exit 0
fi
log "building into $PREFIX ($keytext)"
start=$SECONDS

WORK="$CACHE/work-openssl-$KEY"
rm -rf "$WORK" "$PREFIX"
mkdir -p "$WORK"
cd "$WORK"

# ---- 3. source: newest version first (some mirrors 404 on a security .dsc) -------------------
got=""
for ver in $(versions); do
  if apt-get source -qq "openssl=$ver" >fetch.log 2>&1; then
    got="$ver"
    break
  fi
  log "source openssl $ver failed; trying an older one"
done
[ -n "$got" ] || { tail -20 fetch.log >&2; exit 1; }
src="$(find . -maxdepth 1 -type d -name 'openssl-[0-9]*' | head -1)"
log "source openssl $got"

# ---- 4. configure and build ----------------------------------------------------------------
# mingw64: OpenSSL's own MinGW-w64 target (Windows threads, Winsock, the
# CryptoAPI/BCrypt random seed). no-shared: libssl.a/libcrypto.a only, so
# kotod.exe imports system DLLs alone; no-module puts the providers in
# libcrypto instead of loadable .dll modules.
cd "$src"
./Configure mingw64 no-shared no-module no-tests --cross-compile-prefix=$TRIPLE- \
  --prefix="$PREFIX" --libdir=lib >"$WORK/configure.log" 2>&1 ||
  { tail -40 "$WORK/configure.log" >&2; exit 1; }
make -j"$JOBS" build_libs >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; exit 1; }
# install_dev: headers, the two static libraries and pkg-config files; no
# programs, no manual pages.
make install_dev >"$WORK/install.log" 2>&1 || { tail -40 "$WORK/install.log" >&2; exit 1; }

printf '%s\nbuilt=%s\n' "$keytext" "$got" >"$PREFIX/.versions"
touch "$PREFIX/.complete"
cd "$CACHE" && rm -rf "$WORK"
log "done in $((SECONDS - start)) s: $PREFIX"
echo "$PREFIX"
