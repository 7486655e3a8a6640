# The Debian package: `cpack -G DEB` in the build tree (koto_VERSION_ARCH.deb).
# It is made for the prefix /usr whatever the tree was configured with
# (cmake/install.cmake decides the prefix-dependent paths when installing).
# The maintainer scripts (dist/debian) add the koto system user and its
# owner-only /var/lib/koto, enable and start the unit, and on purge remove
# what they made. The version can be given at packaging time:
#   cpack -G DEB -D CPACK_PACKAGE_VERSION=0.1.1
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME koto)
set(CPACK_PACKAGE_VENDOR koto)
set(CPACK_PACKAGE_CONTACT "koto maintainers <koto@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "system-health monitor that explains what it finds")
set(CPACK_PACKAGE_DESCRIPTION
    "kotod watches this machine (CPU, memory, disks, network, processes and\n\
services), detects trouble, explains it with the evidence and proposes\n\
remediation scripts that run only once approved. It serves a REST API, a\n\
live dashboard, server-sent events and Prometheus metrics on loopback, keeps\n\
its events and history in SQLite and sends notifications. It runs as the\n\
unprivileged system user koto.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The libraries kotod links come from dpkg-shlibdeps; what it loads or runs
# by name is listed: APR's SQLite driver and libcurl.so.4 (dlopen: at the
# first notification, 7.85 for CURLOPT_PROTOCOLS_STR), libssl3 (the TLS
# module's, which dpkg-shlibdeps finds too),
# adduser and deb-systemd-helper (the maintainer scripts).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "adduser, init-system-helpers (>= 1.52), libaprutil1-dbd-sqlite3, libcurl4 (>= 7.85), libssl3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/dist/debian/conffiles;${PROJECT_SOURCE_DIR}/dist/debian/postinst;${PROJECT_SOURCE_DIR}/dist/debian/prerm;${PROJECT_SOURCE_DIR}/dist/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build.*/;/node_modules/;/\\\\.git/")
include(CPack)
