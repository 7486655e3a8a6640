#!/usr/bin/env bash
# The Windows side, end to end on Linux: cross-built dependencies
# (scripts/win-deps.sh; OpenSSL by scripts/win-deps-openssl.sh, libcurl by
# scripts/win-deps-curl.sh), a MinGW-w64 build of kotod.exe, koto.exe and
# the Windows tests into build-win/ with -Werror, and ctest running them
# under Wine.
#
# Wine practice (../shared/windows-notes.md): a throwaway WINEPREFIX under the
# build dir, a persistent wineserver (-p) and wineboot BEFORE ctest (otherwise
# the services the first Wine process starts inherit ctest's pipes and ctest
# waits forever), and `wineserver -k` on exit, for this prefix only.
#   Usage: scripts/win-test.sh [extra ctest args]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${KT_WIN_BUILD:-$ROOT/build-win}"
start=$SECONDS

PREFIX="$("$ROOT/scripts/win-deps.sh" | tail -1)"
# OpenSSL and libcurl after the others: win-deps.sh enables deb-src, which they need.
OPENSSL="$("$ROOT/scripts/win-deps-openssl.sh" | tail -1)"
CURL="$("$ROOT/scripts/win-deps-curl.sh" | tail -1)"
echo "win-test: deps $PREFIX, $OPENSSL, $CURL ($((SECONDS - start)) s)"

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/mingw64.cmake" \
  -DKT_WIN_DEPS_PREFIX="$PREFIX" -DKT_WIN_OPENSSL_PREFIX="$OPENSSL" -DKT_WIN_CURL_PREFIX="$CURL" \
  -DKT_WERROR=ON -DKT_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
echo "win-test: built ($((SECONDS - start)) s)"

export WINEPREFIX="$BUILD/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY
cleanup() { wineserver -k 2>/dev/null || true; }
trap cleanup EXIT
mkdir -p "$WINEPREFIX"
wineserver -p
wine wineboot </dev/null >/dev/null 2>&1
echo "win-test: wine ready ($((SECONDS - start)) s)"

rc=0
ctest --test-dir "$BUILD" --output-on-failure "$@" || rc=$?
echo "win-test: done in $((SECONDS - start)) s (ctest rc $rc)"
exit $rc
