#!/usr/bin/env bash
# Cross-builds koto's dependencies for Windows (x86_64-w64-mingw32) from
# Debian's source packages: APR, APR-util (+ expat, and SQLite for its DBD
# sqlite3 driver, linked in), Lua 5.4, jansson, http-parser and CMocka, as
# static libraries, into
#   ${KT_WIN_DEPS:-$HOME/.cache/koto-win-deps}/<key>
# where <key> hashes the Debian source versions and this script, so a second
# run with the same versions is a cache hit. Prints the prefix on stdout (last line).
#
# The work-arounds from ../shared/windows-notes.md live here as sed/flags;
# nothing is vendored. Needs root (or sudo) only when packages are missing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CACHE="${KT_WIN_DEPS:-$HOME/.cache/koto-win-deps}"
JOBS="${JOBS:-$(nproc)}"
TRIPLE=x86_64-w64-mingw32
log() { echo "win-deps: $*" >&2; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# ---- 1. packages and deb-src ---------------------------------------------------
packages=(gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 mingw-w64-tools wine wine64 dpkg-dev cmake make
          gcc xz-utils tcl)  # tcl: tclsh writes SQLite's amalgamation
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_update=0
if ! apt-cache showsrc apr >/dev/null 2>&1 || [ -z "$(apt-cache showsrc apr 2>/dev/null)" ]; then
  # Enable deb-src only if no deb-src entry exists yet.
  if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "enabling deb-src"
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      $sudo tee /etc/apt/sources.list.d/debian-src.sources >/dev/null
  fi
  need_update=1
fi
if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ]; then
  $sudo apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# ---- 2. the cache key: Debian source versions + this script -------------------------
srcpkgs=(apr apr-util lua5.4 jansson expat http-parser cmocka sqlite3)
versions() { # all versions of a source package, newest first
  apt-cache showsrc --only-source "$1" 2>/dev/null | sed -n 's/^Version: //p' |
    sort -u | sort -rV
}
keytext=""
for s in "${srcpkgs[@]}"; do
  v="$(versions "$s" | tr '\n' ' ')"
  [ -n "$v" ] || { log "no source package $s (is deb-src enabled?)"; exit 1; }
  keytext+="$s=$v;"
done
keytext+="script=$(sha256sum "$0" | cut -c1-16);gcc=$($TRIPLE-gcc -dumpversion)"
KEY="$(printf '%s' "$keytext" | sha256sum | cut -c1-16)"
PREFIX="$CACHE/$KEY"
if [ -f "$PREFIX/.complete" ]; then
  log "cache hit: $PREFIX"
  echo "$PREFIX"
  exit 0
fi
log "building into $PREFIX ($keytext)"

WORK="$CACHE/work-$KEY"
rm -rf "$WORK" "$PREFIX"
mkdir -p "$WORK" "$PREFIX/lib" "$PREFIX/include"
cd "$WORK"

# The toolchain file of the project itself is used for every CMake-based dependency.
TC="$ROOT/cmake/mingw64.cmake"
cmake_dep() { # srcdir builddir [cmake args...]
  local s="$1" b="$2"; shift 2
  cmake -S "$s" -B "$b" -DCMAKE_TOOLCHAIN_FILE="$TC" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_PREFIX_PATH="$PREFIX" "$@" >"$b.configure.log" 2>&1 ||
    { tail -40 "$b.configure.log" >&2; return 1; }
}

# ---- 3. sources -------------------------------------------------------------------
fetch() { # source package; tries versions newest to oldest (some mirrors 404 on security .dsc)
  local s="$1" v
  for v in $(versions "$s"); do
    if apt-get source -qq "$s=$v" >"fetch-$s.log" 2>&1; then
      log "source $s $v"
      return 0
    fi
    log "source $s $v failed; trying an older one"
  done
  return 1
}
for s in "${srcpkgs[@]}"; do fetch "$s"; done
srcdir() { find . -maxdepth 1 -type d -name "$1-[0-9]*" | head -1; }

# ---- 4. Lua: plain objects, no libtool -------------------------------------------------
(
  cd "$(srcdir lua5.4)/src"
  objs=()
  for f in *.c; do
    case "$f" in lua.c | luac.c) continue ;; esac
    $TRIPLE-gcc -O2 -std=gnu99 -DLUA_COMPAT_5_3 -c "$f" -o "${f%.c}.o"
    objs+=("${f%.c}.o")
  done
  rm -f liblua54.a
  $TRIPLE-ar rcs liblua54.a "${objs[@]}"
  mkdir -p "$PREFIX/include/lua5.4"
  cp liblua54.a "$PREFIX/lib/"
  cp lua.h luaconf.h lualib.h lauxlib.h "$PREFIX/include/lua5.4/"
  [ -f lua.hpp ] && cp lua.hpp "$PREFIX/include/lua5.4/" || true
)
log "lua done"

# ---- 5. jansson ---------------------------------------------------------------------
cmake_dep "$(srcdir jansson)" b-jansson -DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF \
  -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_BUILD_SHARED_LIBS=OFF
cmake --build b-jansson -j"$JOBS" --target install >b-jansson.log 2>&1 || { tail -40 b-jansson.log >&2; exit 1; }
log "jansson done"

# ---- 6. http-parser: one C file ------------------------------------------------------
(
  cd "$(srcdir http-parser)"
  $TRIPLE-gcc -O2 -Wall -c http_parser.c -o http_parser.o
  $TRIPLE-ar rcs "$PREFIX/lib/libhttp_parser.a" http_parser.o
  cp http_parser.h "$PREFIX/include/"
)
log "http-parser done"

# ---- 7. CMocka ----------------------------------------------------------------------
cm="$(srcdir cmocka)"
cmake_dep "$cm" b-cmocka -DWITH_STATIC_LIB=ON -DBUILD_SHARED_LIBS=OFF -DWITH_EXAMPLES=OFF \
  -DUNIT_TESTING=OFF -DPICKY_DEVELOPER=OFF
cmake --build b-cmocka -j"$JOBS" --target install >b-cmocka.log 2>&1 || { tail -40 b-cmocka.log >&2; exit 1; }
log "cmocka done"

# ---- 8. expat (APR-util needs it) -----------------------------------------------------
ex="$(srcdir expat)"
# The Debian security patch tests "#if XML_DTD == 1"; CMake's config defines it empty.
sed -i 's/^#cmakedefine XML_DTD$/#cmakedefine XML_DTD 1/' "$ex/expat/expat_config.h.cmake"
cmake_dep "$ex/expat" b-expat -DEXPAT_SHARED_LIBS=OFF -DEXPAT_BUILD_TESTS=OFF -DEXPAT_BUILD_TOOLS=OFF \
  -DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_DOCS=OFF -DEXPAT_BUILD_PKGCONFIG=OFF
cmake --build b-expat -j"$JOBS" --target install >b-expat.log 2>&1 || { tail -40 b-expat.log >&2; exit 1; }
log "expat done"

# ---- 8b. SQLite (APR-util's sqlite3 driver needs it) ---------------------------------------
# Debian ships SQLite's source tree; its amalgamation (sqlite3.c) is generated
# by host tools and tclsh, and holds nothing platform-specific: SQLite picks
# its Windows VFS and mutexes when that one file is compiled for Windows.
sq="$(cd "$(srcdir sqlite3)" && pwd)"
mkdir -p b-sqlite
( cd b-sqlite && "$sq/configure" --disable-tcl --disable-readline >configure.log 2>&1 &&
    make sqlite3.c >make.log 2>&1 ) || { tail -40 b-sqlite/*.log >&2; exit 1; }
# Debian's build options (debian/rules) that change what the store sees, less
# the extensions it does not use: threads (one store thread, HTTP readers),
# secure delete (cleared events are overwritten), and the same limits.
SQLITE_DEFS=(-DSQLITE_THREADSAFE=1 -DSQLITE_SECURE_DELETE -DSQLITE_OMIT_LOOKASIDE=1
             -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_USE_URI=1 -DSQLITE_MAX_SCHEMA_RETRY=25
             -DSQLITE_MAX_VARIABLE_NUMBER=250000 -DSQLITE_OMIT_LOAD_EXTENSION)
$TRIPLE-gcc -O2 "${SQLITE_DEFS[@]}" -c b-sqlite/sqlite3.c -o b-sqlite/sqlite3.o
rm -f "$PREFIX/lib/libsqlite3.a"
$TRIPLE-ar rcs "$PREFIX/lib/libsqlite3.a" b-sqlite/sqlite3.o
cp b-sqlite/sqlite3.h b-sqlite/sqlite3ext.h "$PREFIX/include/"
log "sqlite done"

# ---- 9. APR: its CMakeLists is written for MSVC ------------------------------------------
apr="$(cd "$(srcdir apr)" && pwd)"
SHIM="$WORK/shim"
mkdir -p "$SHIM"
echo '#include <shellapi.h>' >"$SHIM/ShellAPI.h"      # MSVC-cased header names
echo '#include <iphlpapi.h>' >"$SHIM/Iphlpapi.h"
sed -i 's/#if defined(HAVE_IF_INDEXTONAME) \&\& defined(_MSC_VER)/#if defined(HAVE_IF_INDEXTONAME)/' \
  "$apr/include/arch/win32/apr_arch_misc.h"
sed -i 's/ libapr.rc)/)/' "$apr/CMakeLists.txt"       # windres cannot paste the version CSV
APR_CFLAGS="-I$SHIM -D_WIN32_WINNT=0x0601 -DUSE_ATOMICS_GENERIC -include winsock2.h -include ws2tcpip.h -include mswsock.h -include windows.h -include iphlpapi.h"
STDLIBS="-liphlpapi -lws2_32 -lmswsock -lkernel32 -luser32 -lgdi32 -lwinspool -lshell32 -lole32 -loleaut32 -luuid -lcomdlg32 -ladvapi32 -lrpcrt4"
cmake_dep "$apr" b-apr -DCMAKE_C_FLAGS="$APR_CFLAGS" -DCMAKE_C_STANDARD_LIBRARIES="$STDLIBS" \
  -DAPR_BUILD_TESTAPR=OFF -DINSTALL_PDB=OFF -G "Unix Makefiles"
# gen_test_char runs at build time: replace the .exe with a host-built tool.
cmake --build b-apr --target gen_test_char >b-apr.log 2>&1 || { tail -40 b-apr.log >&2; exit 1; }
gcc -O1 -o b-apr/gen_test_char.host "$apr/tools/gen_test_char.c"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$WORK/b-apr/gen_test_char.host" >b-apr/gen_test_char.exe
chmod +x b-apr/gen_test_char.exe
touch b-apr/gen_test_char.exe
cmake --build b-apr -j"$JOBS" --target install >>b-apr.log 2>&1 || { tail -40 b-apr.log >&2; exit 1; }
log "apr done"

# ---- 10. APR-util ------------------------------------------------------------------
apu="$(cd "$(srcdir apr-util)" && pwd)"
sed -i 's/ libaprutil.rc)/)/' "$apu/CMakeLists.txt"
# The static library (aprutil-1: APU_DECLARE_STATIC, so no DSO loading) gets
# the sqlite3 driver compiled in: apr_dbd.c's table of built-in drivers then
# holds it, and apr_dbd_get_driver(.., "sqlite3", ..) finds it with no DLL.
# apu.h leaves APU_HAVE_SQLITE3 to the build under APU_DSO_MODULE_BUILD,
# which this target defines.
cat >>"$apu/CMakeLists.txt" <<EOF
TARGET_SOURCES(aprutil-1 PRIVATE dbd/apr_dbd_sqlite3.c)
SET_PROPERTY(TARGET aprutil-1 APPEND PROPERTY COMPILE_DEFINITIONS APU_HAVE_SQLITE3=1)
TARGET_INCLUDE_DIRECTORIES(aprutil-1 PRIVATE "$PREFIX/include")
EOF
cmake_dep "$apu" b-apu -DCMAKE_C_FLAGS="$APR_CFLAGS" -DCMAKE_C_STANDARD_LIBRARIES="$STDLIBS" \
  -DAPU_HAVE_ODBC=OFF -DAPR_HAS_LDAP=OFF -DAPR_BUILD_TESTAPR=OFF -DINSTALL_PDB=OFF \
  -DAPR_INCLUDE_DIR="$PREFIX/include" -DAPR_LIBRARIES="$PREFIX/lib/liblibapr-1.dll.a" \
  -DEXPAT_INCLUDE_DIR="$PREFIX/include" -DEXPAT_LIBRARY="$PREFIX/lib/libexpat.a" \
  -DEXPAT_LIBRARIES="$PREFIX/lib/libexpat.a" -G "Unix Makefiles"
cmake --build b-apu -j"$JOBS" --target install >b-apu.log 2>&1 || { tail -40 b-apu.log >&2; exit 1; }
log "apr-util done"

printf '%s\n' "$keytext" >"$PREFIX/.versions"
touch "$PREFIX/.complete"
cd "$CACHE" && rm -rf "$WORK"
log "done: $PREFIX"
echo "$PREFIX"
