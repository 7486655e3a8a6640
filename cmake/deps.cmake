# Every dependency comes from Debian packages (scripts/install-deps.sh).
# Each is exposed as an imported target kt::<name> so targets never spell flags.
# Windows builds take them from vcpkg (native MSVC build, CMakePresets.json:
# vcpkg.json, deps-vcpkg.cmake) or, cross-built with MinGW, from
# scripts/win-deps.sh (deps-win.cmake).
if(WIN32)
  if(MSVC OR VCPKG_TOOLCHAIN)
    include(${CMAKE_CURRENT_LIST_DIR}/deps-vcpkg.cmake)
  else()
    include(${CMAKE_CURRENT_LIST_DIR}/deps-win.cmake)
  endif()
  return()
endif()
find_package(PkgConfig REQUIRED)
pkg_check_modules(APR REQUIRED IMPORTED_TARGET apr-1)
pkg_check_modules(APRUTIL REQUIRED IMPORTED_TARGET apr-util-1)
pkg_check_modules(LUA REQUIRED IMPORTED_TARGET lua5.4)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
add_library(kt::apr ALIAS PkgConfig::APR)
add_library(kt::aprutil ALIAS PkgConfig::APRUTIL)
add_library(kt::lua ALIAS PkgConfig::LUA)
add_library(kt::jansson ALIAS PkgConfig::JANSSON)
# Notifications: libcurl (libcurl4-openssl-dev) sends; src/notify loads it by
# its soname at the first notification and builds against its headers.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
add_library(kt::curl ALIAS PkgConfig::CURL)
# SHA-256 and HMAC-SHA-256 (tokens, remediation hashes, webhook signatures):
# Nettle (nettle-dev), small and without constructors, where libcrypto
# would be mapped and relocated at every start for two functions.
pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle)
add_library(kt::nettle ALIAS PkgConfig::NETTLE)
# /metrics in gzip for the scrapers that ask: zlib (zlib1g-dev).
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
add_library(kt::zlib ALIAS PkgConfig::ZLIB)
# TLS on the HTTP listener: OpenSSL (libssl-dev).
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
add_library(kt::crypto ALIAS PkgConfig::CRYPTO)
pkg_check_modules(SSL REQUIRED IMPORTED_TARGET libssl)
add_library(kt::ssl ALIAS PkgConfig::SSL)

# Debian's libhttp-parser-dev ships no pkg-config file.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY http_parser REQUIRED)
add_library(kt::http_parser UNKNOWN IMPORTED)
set_target_properties(kt::http_parser PROPERTIES
  IMPORTED_LOCATION "${HTTP_PARSER_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${HTTP_PARSER_INCLUDE_DIR}")

if(KT_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  add_library(kt::cmocka ALIAS PkgConfig::CMOCKA)
endif()
