# koto's overlay of vcpkg's apr-util port (vcpkg.json's "overlay-ports"):
# the same source and patches, plus APR-DBD's sqlite3 driver, which vcpkg's
# port does not build. A static APR-util loads no driver DLL: apr_dbd.c
# registers the drivers compiled into it (APU_HAVE_SQLITE3), and
# apr_dbd_get_driver(.., "sqlite3", ..) then finds this one. The MinGW build
# does the same (scripts/win-deps.sh). Nothing here has run on Windows yet
# (docs/windows.md, section 4).
vcpkg_check_linkage(ONLY_STATIC_LIBRARY)

# vcpkg's own patches (expat and APR found through vcpkg, the static and
# shared libraries split on BUILD_SHARED_LIBS, the version resource), read
# from the vcpkg checkout that builds this, so they are never copied here.
set(upstream "${VCPKG_ROOT_DIR}/ports/apr-util")
set(patches use-vcpkg-expat.patch apr.patch unglue.patch)
list(TRANSFORM patches PREPEND "${upstream}/")
foreach(p IN LISTS patches)
  if(NOT EXISTS "${p}")
    message(FATAL_ERROR "${p} is missing: vcpkg's apr-util port changed since koto's overlay "
                        "(cmake/vcpkg-ports/apr-util) was written against apr-util 1.6.3")
  endif()
endforeach()

# The upstream release, the same file as vcpkg's port and Debian's
# apr-util_1.6.3.orig.tar.bz2 (same SHA512).
vcpkg_download_distfile(ARCHIVE
  URLS "https://archive.apache.org/dist/apr/apr-util-${VERSION}.tar.bz2"
  FILENAME "apr-util-${VERSION}.tar.bz2"
  SHA512 8050a481eeda7532ef3751dbd8a5aa6c48354d52904a856ef9709484f4b0cc2e022661c49ddf55ec58253db22708ee0607dfa7705d9270e8fee117ae4f06a0fe
)
vcpkg_extract_source_archive(SOURCE_PATH ARCHIVE "${ARCHIVE}" PATCHES ${patches})

# The driver in the static library (aprutil-1, APU_DECLARE_STATIC: no DSO
# loading). apu.h leaves APU_HAVE_SQLITE3 to the build under
# APU_DSO_MODULE_BUILD, which that target defines. The plain
# target_link_libraries signature, as the file's own calls use.
file(APPEND "${SOURCE_PATH}/CMakeLists.txt" [[

find_package(unofficial-sqlite3 CONFIG REQUIRED)
target_sources(aprutil-1 PRIVATE dbd/apr_dbd_sqlite3.c)
set_property(TARGET aprutil-1 APPEND PROPERTY COMPILE_DEFINITIONS APU_HAVE_SQLITE3=1)
target_link_libraries(aprutil-1 unofficial::sqlite3::sqlite3)
]])

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DAPU_HAVE_CRYPTO=OFF
  OPTIONS_DEBUG
    -DDISABLE_INSTALL_HEADERS=ON
)
vcpkg_cmake_install()
vcpkg_copy_pdbs()

# As vcpkg's port does: the installed apu.h declares the functions for the
# linkage that was built (static here), not dllimport.
vcpkg_replace_string("${CURRENT_PACKAGES_DIR}/include/apu.h" "defined(APU_DECLARE_STATIC)" "1")

file(INSTALL "${SOURCE_PATH}/LICENSE" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}" RENAME copyright)
