# revision.cmake - writes OUT (kt_revision.h) with KT_REVISION, the commit the
# sources are at ("unknown" outside a git checkout, e.g. a release tarball),
# and a "-dirty" mark when they differ from it. Run at every build, the file
# is rewritten only when the revision changed, so only what includes it is
# compiled again.
#   cmake -DSRC=<source dir> -DOUT=<file> -P revision.cmake
set(rev "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SRC}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SRC}" describe --always --dirty --abbrev=12 --exclude=*
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc EQUAL 0 AND out)
    set(rev "${out}")
  endif()
endif()
set(text "#define KT_REVISION \"${rev}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
