# Windows, native build (MSVC; CMakePresets.json "windows-msvc"): the
# dependencies are vcpkg's packages, listed in vcpkg.json and built by vcpkg's
# toolchain file on the first configure. Defines the same targets as the
# Linux side (deps.cmake) and the MinGW cross build (deps-win.cmake):
# kt::apr, kt::aprutil (with APR-DBD's sqlite3 driver), kt::lua, kt::jansson,
# kt::http_parser, kt::ssl and kt::crypto (TLS on the listener), kt::curl
# (notifications, koto.exe), kt::cmocka.
#
# Package and target names are those of vcpkg's ports. Some ports renamed
# theirs over the years, so each lookup accepts every spelling listed here.
# They were read from the ports' files (portfile.cmake, usage, the configs they
# install) and from installed vcpkg trees. Nothing here has been built on
# Windows: docs/windows.md says what is verified only there.
if(NOT VCPKG_TOOLCHAIN)
  message(FATAL_ERROR "The MSVC build takes its libraries from vcpkg: configure with "
                      "`cmake --preset windows-msvc` (VCPKG_ROOT set to a vcpkg checkout); "
                      "see docs/windows.md")
endif()

# Where vcpkg installed this triplet's packages (manifest mode: the build tree).
if(VCPKG_INSTALLED_DIR)
  set(KT_VCPKG_PREFIX "${VCPKG_INSTALLED_DIR}/${VCPKG_TARGET_TRIPLET}")
else()
  set(KT_VCPKG_PREFIX "${_VCPKG_INSTALLED_DIR}/${VCPKG_TARGET_TRIPLET}")
endif()
# x64-windows-static (the preset) and the other static triplets build static
# libraries, whose headers must not declare their functions dllimport.
if(VCPKG_TARGET_TRIPLET MATCHES "static")
  set(KT_VCPKG_STATIC ON)
else()
  set(KT_VCPKG_STATIC OFF)
endif()

# out = the first of the targets named after it that exists, else "".
function(kt_vcpkg_pick out)
  foreach(t IN LISTS ARGN)
    if(TARGET ${t})
      set(${out} ${t} PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()

# An imported target for a library vcpkg installed without a CMake config
# that could be found: its header and the release and debug builds of the
# library. RelWithDebInfo and MinSizeRel use the release build: vcpkg's
# toolchain file maps them that way.
function(kt_vcpkg_library target header)
  cmake_parse_arguments(L "" "" "NAMES" ${ARGN})
  find_path(KT_VCPKG_${target}_INCLUDE ${header} PATHS "${KT_VCPKG_PREFIX}/include"
            NO_DEFAULT_PATH REQUIRED)
  find_library(KT_VCPKG_${target}_RELEASE NAMES ${L_NAMES} PATHS "${KT_VCPKG_PREFIX}/lib"
               NO_DEFAULT_PATH REQUIRED)
  find_library(KT_VCPKG_${target}_DEBUG NAMES ${L_NAMES} PATHS "${KT_VCPKG_PREFIX}/debug/lib"
               NO_DEFAULT_PATH)
  add_library(${target} UNKNOWN IMPORTED)
  set_target_properties(${target} PROPERTIES
    IMPORTED_CONFIGURATIONS RELEASE
    IMPORTED_LOCATION_RELEASE "${KT_VCPKG_${target}_RELEASE}"
    INTERFACE_INCLUDE_DIRECTORIES "${KT_VCPKG_${target}_INCLUDE}")
  if(KT_VCPKG_${target}_DEBUG)
    set_property(TARGET ${target} APPEND PROPERTY IMPORTED_CONFIGURATIONS DEBUG)
    set_target_properties(${target} PROPERTIES
      IMPORTED_LOCATION_DEBUG "${KT_VCPKG_${target}_DEBUG}")
  endif()
endfunction()

# kt::<name>: the package's target(s), plus what using it statically needs.
function(kt_vcpkg_wrap name)
  cmake_parse_arguments(W "" "" "TARGETS;DEFS;LIBS;INCLUDES" ${ARGN})
  add_library(kt_vcpkg_${name} INTERFACE)
  target_link_libraries(kt_vcpkg_${name} INTERFACE ${W_TARGETS} ${W_LIBS})
  if(W_DEFS)
    target_compile_definitions(kt_vcpkg_${name} INTERFACE ${W_DEFS})
  endif()
  if(W_INCLUDES)
    target_include_directories(kt_vcpkg_${name} SYSTEM INTERFACE ${W_INCLUDES})
  endif()
  add_library(kt::${name} ALIAS kt_vcpkg_${name})
endfunction()

# ---- APR -----------------------------------------------------------------------
# Port "apr". Since APR 1.7.5 it installs APR's own config: find_package(apr),
# apr::apr-1 (static) or apr::libapr-1 (DLL), per ports/apr/usage.
# Older ports install unofficial-apr, with unofficial::apr::apr-1 or
# unofficial::apr::libapr-1. The current port still ships that file, but it
# only forwards to apr and prints a deprecation warning, so it is asked
# only when apr is missing.
find_package(apr CONFIG QUIET)
if(NOT apr_FOUND)
  find_package(unofficial-apr CONFIG QUIET)
endif()
if(KT_VCPKG_STATIC)
  kt_vcpkg_pick(kt_apr apr::apr-1 unofficial::apr::apr-1 apr::libapr-1 unofficial::apr::libapr-1)
else()
  kt_vcpkg_pick(kt_apr apr::libapr-1 unofficial::apr::libapr-1 apr::apr-1 unofficial::apr::apr-1)
endif()
if(NOT kt_apr)
  kt_vcpkg_library(kt_vcpkg_apr_lib apr.h NAMES apr-1 libapr-1)
  set(kt_apr kt_vcpkg_apr_lib)
endif()
set(kt_apr_defs "")
if(KT_VCPKG_STATIC)
  set(kt_apr_defs APR_DECLARE_STATIC)
endif()
# APR's own system libraries, named again for the static library (as
# deps-win.cmake does): Winsock, RPC (UUIDs), IP helper, the registry.
kt_vcpkg_wrap(apr TARGETS ${kt_apr} DEFS ${kt_apr_defs}
              LIBS ws2_32 mswsock rpcrt4 iphlpapi advapi32 shell32)

# ---- APR-util --------------------------------------------------------------------
# Port "apr-util". Recent ports install unofficial-apr-util, with
# unofficial::apr::aprutil (linked to APR and expat). Older ones install no
# config at all: then the library (aprutil-1.lib static, libaprutil-1.lib
# DLL) and expat (find_package(expat): expat::expat, or expat::libexpat in
# older ports) are taken by hand. The port rewrites apu.h to fit the linkage
# it built.
find_package(unofficial-apr-util CONFIG QUIET)
kt_vcpkg_pick(kt_aprutil unofficial::apr::aprutil)
set(kt_aprutil_libs "")
if(NOT kt_aprutil)
  kt_vcpkg_library(kt_vcpkg_aprutil_lib apu.h NAMES aprutil-1 libaprutil-1 aprutil-1d libaprutil-1d)
  set(kt_aprutil kt_vcpkg_aprutil_lib)
  if(KT_VCPKG_STATIC)
    find_package(expat CONFIG QUIET)
    kt_vcpkg_pick(kt_expat expat::expat expat::libexpat)
    if(NOT kt_expat)
      kt_vcpkg_library(kt_vcpkg_expat_lib expat.h
                       NAMES libexpatMT libexpatdMT libexpatMD libexpatdMD libexpat expat)
      set(kt_expat kt_vcpkg_expat_lib)
    endif()
    set(kt_aprutil_libs ${kt_expat})
  endif()
endif()
# The store: vcpkg's apr-util port builds no APR-DBD driver, so vcpkg.json
# overlays it (cmake/vcpkg-ports/apr-util) with the sqlite3 driver compiled
# into the static library; SQLite itself is port "sqlite3"
# (unofficial-sqlite3: unofficial::sqlite3::sqlite3, its usage file).
find_package(unofficial-sqlite3 CONFIG REQUIRED)
list(APPEND kt_aprutil_libs unofficial::sqlite3::sqlite3)
set(kt_aprutil_defs "")
if(KT_VCPKG_STATIC)
  set(kt_aprutil_defs APU_DECLARE_STATIC)
endif()
kt_vcpkg_wrap(aprutil TARGETS ${kt_aprutil} kt::apr DEFS ${kt_aprutil_defs} LIBS ${kt_aprutil_libs})

# ---- Lua 5.4 -----------------------------------------------------------------------
# Port "lua": find_package(unofficial-lua). Current ports export
# unofficial::lua::lua; older ones export a target named plain lua. Both
# install the headers straight into include/ (lua.h, not lua5.4/lua.h).
# find_package(Lua) goes through the port's wrapper, which sets
# LUA_LIBRARIES and LUA_INCLUDE_DIR. That call is the fallback.
find_package(unofficial-lua CONFIG QUIET)
kt_vcpkg_pick(kt_lua unofficial::lua::lua lua)
if(kt_lua)
  kt_vcpkg_wrap(lua TARGETS ${kt_lua})
else()
  find_package(Lua REQUIRED)
  kt_vcpkg_wrap(lua TARGETS ${LUA_LIBRARIES} INCLUDES ${LUA_INCLUDE_DIR})
endif()
# The Linux build asks for lua5.4 by name. vcpkg has one Lua, whatever version
# its checkout holds (vcpkg.json pins no version: that would need a
# builtin-baseline). Check the version here, so a mismatch fails now and not
# later in the sandbox.
if(EXISTS "${KT_VCPKG_PREFIX}/include/lua.h")
  file(STRINGS "${KT_VCPKG_PREFIX}/include/lua.h" kt_lua_num REGEX "^#define[ \t]+LUA_VERSION_NUM")
  if(NOT kt_lua_num MATCHES "[ \t]504([ \t]|$)")
    message(FATAL_ERROR "koto needs Lua 5.4; vcpkg's lua.h says: ${kt_lua_num}")
  endif()
endif()

# ---- jansson, http-parser ------------------------------------------------------------
# Port "jansson": jansson's own config, jansson::jansson. Port "http-parser"
# (static only): unofficial-http-parser, unofficial::http_parser::http_parser
# (its usage file, and the exported config seen in installed trees).
find_package(jansson CONFIG REQUIRED)
kt_vcpkg_wrap(jansson TARGETS jansson::jansson)
find_package(unofficial-http-parser CONFIG REQUIRED)
kt_vcpkg_wrap(http_parser TARGETS unofficial::http_parser::http_parser)

# ---- OpenSSL --------------------------------------------------------------------------
# Port "openssl": CMake's FindOpenSSL, through the port's wrapper, gives
# OpenSSL::SSL and OpenSSL::Crypto. The system libraries a static libcrypto
# needs are named again, as deps-win.cmake does: Winsock, GDI, CryptoAPI and
# BCrypt.
find_package(OpenSSL REQUIRED)
kt_vcpkg_wrap(crypto TARGETS OpenSSL::Crypto LIBS ws2_32 gdi32 crypt32 bcrypt advapi32 user32)
kt_vcpkg_wrap(ssl TARGETS OpenSSL::SSL kt::crypto)

# ---- libcurl ------------------------------------------------------------------------
# Port "curl" with features "schannel" and "non-http" (SMTP for the email
# channel), and no default features, so no OpenSSL in it (the port always
# brings zlib), as the MinGW build's win-deps-curl.sh: curl's own config,
# CURL::libcurl (its usage file). A
# static libcurl's headers must not declare dllimport; Schannel's system
# libraries are named again, as deps-win.cmake does.
find_package(CURL CONFIG REQUIRED)
set(kt_curl_defs "")
if(KT_VCPKG_STATIC)
  set(kt_curl_defs CURL_STATICLIB)
endif()
kt_vcpkg_wrap(curl TARGETS CURL::libcurl DEFS ${kt_curl_defs} LIBS ws2_32 crypt32 bcrypt advapi32)

# ---- CMocka (tests) -------------------------------------------------------------------
# Port "cmocka", in vcpkg.json's "tests" feature (the preset asks for it with
# VCPKG_MANIFEST_FEATURES). Recent cmocka configs export cmocka::cmocka. Older
# ones set CMOCKA_LIBRARIES and CMOCKA_INCLUDE_DIR (the port's usage file).
if(KT_TESTS)
  find_package(cmocka CONFIG QUIET)
  if(TARGET cmocka::cmocka)
    kt_vcpkg_wrap(cmocka TARGETS cmocka::cmocka)
  elseif(CMOCKA_LIBRARIES)
    kt_vcpkg_wrap(cmocka LIBS ${CMOCKA_LIBRARIES} INCLUDES ${CMOCKA_INCLUDE_DIR} ${CMOCKA_INCLUDE_DIRS})
  else()
    message(FATAL_ERROR "KT_TESTS needs CMocka from vcpkg: configure with "
                        "-DVCPKG_MANIFEST_FEATURES=tests (the windows-msvc preset does), "
                        "or with -DKT_TESTS=OFF")
  endif()
endif()
