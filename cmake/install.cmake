# The installed tree on Unix (GNU directories under CMAKE_INSTALL_PREFIX):
#   sbin/kotod, share/koto/lua, share/koto/web, share/man/man8/kotod.8.gz,
#   lib/koto (the root side of remediation, the TLS module koto_tls.so), the systemd unit, and
#   koto.conf.lua in /etc/koto for the prefix /usr, else in PREFIX/etc/koto.
# kotod is given only the paths from its sbin/ to share/, never absolute
# ones, and applies the same /etc rule from where it finds itself: one
# build tree installs to /usr/local (`cmake --install`) and packages for
# /usr (`cpack -G DEB`, cmake/package.cmake), and either finds its files.
include(GNUInstallDirs)
foreach(d SBINDIR DATADIR MANDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    message(FATAL_ERROR "CMAKE_INSTALL_${d} must be relative to the prefix (kotod finds its files from where it is)")
  endif()
endforeach()

set(kt_share "${CMAKE_INSTALL_DATADIR}/koto")
file(RELATIVE_PATH kt_rel_lua "/p/${CMAKE_INSTALL_SBINDIR}" "/p/${kt_share}/lua")
file(RELATIVE_PATH kt_rel_web "/p/${CMAKE_INSTALL_SBINDIR}" "/p/${kt_share}/web")
file(RELATIVE_PATH kt_rel_prefix "/p/${CMAKE_INSTALL_SBINDIR}" "/p")
file(RELATIVE_PATH kt_rel_tls "/p/${CMAKE_INSTALL_SBINDIR}" "/p/lib/koto/koto_tls.so")
target_compile_definitions(kotod PRIVATE KT_REL_LUA_DIR="${kt_rel_lua}" KT_REL_WEB_DIR="${kt_rel_web}"
                                         KT_REL_PREFIX="${kt_rel_prefix}" KT_REL_TLS_MODULE="${kt_rel_tls}")

# The manual page, compressed as Debian's policy wants it (-n: no name or
# time stamp, so two builds give the same bytes).
find_program(KT_GZIP gzip REQUIRED)
foreach(page kotod.8 koto.1)
  add_custom_command(OUTPUT "${PROJECT_BINARY_DIR}/${page}.gz"
                     COMMAND ${KT_GZIP} -9n -c "${PROJECT_SOURCE_DIR}/docs/${page}" > "${PROJECT_BINARY_DIR}/${page}.gz"
                     DEPENDS "${PROJECT_SOURCE_DIR}/docs/${page}" VERBATIM)
endforeach()
# The changelog a native Debian package carries, likewise.
configure_file(dist/debian/changelog.in "${PROJECT_BINARY_DIR}/dist/changelog" @ONLY)
add_custom_command(OUTPUT "${PROJECT_BINARY_DIR}/dist/changelog.gz"
                   COMMAND ${KT_GZIP} -9n -c "${PROJECT_BINARY_DIR}/dist/changelog" > "${PROJECT_BINARY_DIR}/dist/changelog.gz"
                   DEPENDS "${PROJECT_BINARY_DIR}/dist/changelog" VERBATIM)
add_custom_target(manpage ALL DEPENDS "${PROJECT_BINARY_DIR}/kotod.8.gz" "${PROJECT_BINARY_DIR}/koto.1.gz"
                                      "${PROJECT_BINARY_DIR}/dist/changelog.gz")

# The root side of remediation (src/remedy/run_approved.c), started by
# systemd per connection to koto-run-approved.socket.
add_executable(koto-run-approved src/remedy/run_approved.c)
target_include_directories(koto-run-approved PRIVATE src/remedy)
target_link_libraries(koto-run-approved PRIVATE kt_remedy)

install(TARGETS kotod RUNTIME DESTINATION "${CMAKE_INSTALL_SBINDIR}")
install(TARGETS koto-run-approved RUNTIME DESTINATION lib/koto)
if(TARGET kt_tls) # kotod's TLS, loaded when configured (src/http/tls_load.c)
  install(TARGETS kt_tls LIBRARY DESTINATION lib/koto)
endif()
install(DIRECTORY lua/ DESTINATION "${kt_share}/lua" PATTERN koto.conf.lua EXCLUDE)
install(DIRECTORY "${PROJECT_BINARY_DIR}/web/" DESTINATION "${kt_share}/web")
install(FILES "${PROJECT_BINARY_DIR}/kotod.8.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man8")
install(FILES "${PROJECT_BINARY_DIR}/koto.1.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
install(FILES dist/debian/copyright "${PROJECT_BINARY_DIR}/dist/changelog.gz"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/koto")

# What depends on the prefix the install is made for (which cpack sets
# differently from the configure): decided when installing.
install(CODE "set(KT_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(KT_BINARY_DIR \"${PROJECT_BINARY_DIR}\")
set(KT_SBINDIR \"${CMAKE_INSTALL_SBINDIR}\")
set(KT_LIBEXEC \"lib/koto\")
set(KT_SYSTEMD_UNIT_DIR \"${KT_SYSTEMD_UNIT_DIR}\")")
install(SCRIPT cmake/install_prefixed.cmake)

# `cpack -G DEB` (cmake/package.cmake).
include(cmake/package.cmake)
