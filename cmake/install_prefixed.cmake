# Run by `cmake --install` and by cpack (cmake/install.cmake): the files
# whose place or text depends on the prefix installed to.
#   /etc/koto/koto.conf.lua for the prefix /usr, else PREFIX/etc/koto (the
#     rule kotod applies from where it finds itself, src/daemon/unixd.c);
#   the systemd unit, naming PREFIX/sbin/kotod, in /lib/systemd/system for
#     /usr (where Debian 12 keeps its units), else PREFIX/lib/systemd/system
#     (both on systemd's search path), or KT_SYSTEMD_UNIT_DIR when set.
# file(INSTALL) puts $DESTDIR in front of these absolute paths.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(kt_etc "/etc/koto")
  set(kt_units "/lib/systemd/system")
else()
  set(kt_etc "${CMAKE_INSTALL_PREFIX}/etc/koto")
  set(kt_units "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
if(KT_SYSTEMD_UNIT_DIR)
  set(kt_units "${KT_SYSTEMD_UNIT_DIR}")
endif()
set(KT_SBIN_PATH "${CMAKE_INSTALL_PREFIX}/${KT_SBINDIR}")
set(KT_RUNNER_PATH "${CMAKE_INSTALL_PREFIX}/${KT_LIBEXEC}/koto-run-approved")
foreach(unit kotod.service koto-run-approved.socket koto-run-approved@.service)
  configure_file("${KT_SOURCE_DIR}/dist/${unit}" "${KT_BINARY_DIR}/dist/${unit}" @ONLY)
endforeach()
file(INSTALL "${KT_SOURCE_DIR}/lua/koto.conf.lua" DESTINATION "${kt_etc}"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL "${KT_BINARY_DIR}/dist/kotod.service" "${KT_BINARY_DIR}/dist/koto-run-approved.socket"
                  "${KT_BINARY_DIR}/dist/koto-run-approved@.service" DESTINATION "${kt_units}"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
