# Windows (MinGW-w64 cross build): the dependencies come from the static
# libraries scripts/win-deps.sh cross-builds from Debian's source packages
# into KT_WIN_DEPS_PREFIX. Defines the same imported targets as the Linux
# side (kt::apr, kt::aprutil with the sqlite3 driver, kt::lua, kt::jansson,
# kt::http_parser, kt::cmocka), so no target spells a Windows flag.
set(KT_WIN_DEPS_PREFIX "" CACHE PATH "Prefix printed by scripts/win-deps.sh")
if(NOT KT_WIN_DEPS_PREFIX OR NOT EXISTS "${KT_WIN_DEPS_PREFIX}/.complete")
  message(FATAL_ERROR "Set KT_WIN_DEPS_PREFIX to the prefix scripts/win-deps.sh prints "
                      "(got '${KT_WIN_DEPS_PREFIX}')")
endif()

function(kt_win_dep target lib)
  cmake_parse_arguments(D "" "" "DEFS;LIBS;INCLUDES" ${ARGN})
  find_library(KT_WIN_${lib}_LIBRARY NAMES ${lib} PATHS "${KT_WIN_DEPS_PREFIX}/lib"
               NO_DEFAULT_PATH REQUIRED)
  add_library(${target} STATIC IMPORTED GLOBAL)
  set(inc "${KT_WIN_DEPS_PREFIX}/include")
  foreach(i IN LISTS D_INCLUDES)
    list(APPEND inc "${KT_WIN_DEPS_PREFIX}/include/${i}")
  endforeach()
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${KT_WIN_${lib}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${inc}"
    INTERFACE_COMPILE_DEFINITIONS "${D_DEFS}"
    INTERFACE_LINK_LIBRARIES "${D_LIBS}")
endfunction()

# Static names only (libX.a), so the executables import system DLLs alone.
kt_win_dep(kt_win_expat libexpat.a DEFS XML_STATIC)
kt_win_dep(kt_win_apr libapr-1.a DEFS APR_DECLARE_STATIC
           LIBS ws2_32 mswsock rpcrt4 iphlpapi advapi32 shell32)
# APR-util has APR-DBD's sqlite3 driver built in (no DSO loading in a
# static build), so SQLite comes with it.
kt_win_dep(kt_win_sqlite3 libsqlite3.a)
kt_win_dep(kt_win_aprutil libaprutil-1.a DEFS APU_DECLARE_STATIC
           LIBS kt_win_apr kt_win_expat kt_win_sqlite3)
kt_win_dep(kt_win_lua liblua54.a INCLUDES lua5.4)
kt_win_dep(kt_win_jansson libjansson.a)
kt_win_dep(kt_win_http_parser libhttp_parser.a)
add_library(kt::apr ALIAS kt_win_apr)
add_library(kt::aprutil ALIAS kt_win_aprutil)
add_library(kt::lua ALIAS kt_win_lua)
add_library(kt::jansson ALIAS kt_win_jansson)
add_library(kt::http_parser ALIAS kt_win_http_parser)
if(KT_TESTS)
  kt_win_dep(kt_win_cmocka libcmocka-static.a)
  add_library(kt::cmocka ALIAS kt_win_cmocka)
endif()

# OpenSSL (TLS on the listener): static libssl and
# libcrypto from scripts/win-deps-openssl.sh, a prefix of their own. Without
# it kotod.exe is built with src/http/tls_none.c and refuses a tls setting.
# OpenSSL's mingw64 target links Winsock, GDI (its RAND_screen) and
# CryptoAPI (the Windows certificate store it can read); BCrypt seeds its
# random numbers.
set(KT_WIN_OPENSSL_PREFIX "" CACHE PATH "Prefix printed by scripts/win-deps-openssl.sh")
if(KT_WIN_OPENSSL_PREFIX)
  if(NOT EXISTS "${KT_WIN_OPENSSL_PREFIX}/.complete")
    message(FATAL_ERROR "KT_WIN_OPENSSL_PREFIX '${KT_WIN_OPENSSL_PREFIX}' is not a finished "
                        "scripts/win-deps-openssl.sh prefix")
  endif()
  # The toolchain file re-roots find_library under these prefixes only.
  list(APPEND CMAKE_FIND_ROOT_PATH "${KT_WIN_OPENSSL_PREFIX}")
  set(kt_deps_prefix "${KT_WIN_DEPS_PREFIX}")
  set(KT_WIN_DEPS_PREFIX "${KT_WIN_OPENSSL_PREFIX}")
  kt_win_dep(kt_win_crypto libcrypto.a LIBS ws2_32 gdi32 crypt32 bcrypt advapi32 user32)
  kt_win_dep(kt_win_ssl libssl.a LIBS kt_win_crypto)
  set(KT_WIN_DEPS_PREFIX "${kt_deps_prefix}")
  add_library(kt::crypto ALIAS kt_win_crypto)
  add_library(kt::ssl ALIAS kt_win_ssl)
endif()

# libcurl (kotod.exe's notifications, koto.exe): a static library with
# Schannel for TLS from scripts/win-deps-curl.sh, a prefix of its own.
# Without it kotod.exe is built with src/notify/none.c and there is no
# koto.exe. Its system libraries: Winsock, CryptoAPI and BCrypt (Schannel's
# certificates and curl's random numbers), advapi32; SSPI (secur32.dll) is
# loaded at run time.
set(KT_WIN_CURL_PREFIX "" CACHE PATH "Prefix printed by scripts/win-deps-curl.sh")
if(KT_WIN_CURL_PREFIX)
  if(NOT EXISTS "${KT_WIN_CURL_PREFIX}/.complete")
    message(FATAL_ERROR "KT_WIN_CURL_PREFIX '${KT_WIN_CURL_PREFIX}' is not a finished "
                        "scripts/win-deps-curl.sh prefix")
  endif()
  # The toolchain file re-roots find_library under these prefixes only.
  list(APPEND CMAKE_FIND_ROOT_PATH "${KT_WIN_CURL_PREFIX}")
  set(kt_deps_prefix "${KT_WIN_DEPS_PREFIX}")
  set(KT_WIN_DEPS_PREFIX "${KT_WIN_CURL_PREFIX}")
  kt_win_dep(kt_win_curl libcurl.a DEFS CURL_STATICLIB LIBS ws2_32 crypt32 bcrypt advapi32)
  set(KT_WIN_DEPS_PREFIX "${kt_deps_prefix}")
  add_library(kt::curl ALIAS kt_win_curl)
endif()
