#!/usr/bin/env bash
# koto's one entry point for people and CI:
#   ./build.sh run        install what is missing, build, run kotod in the foreground
#   ./build.sh test       install what is missing, build, run the whole test suite
#   ./build.sh sanitize   the same suite in an AddressSanitizer + UBSan build
#   ./build.sh tsan       a ThreadSanitizer build; runs the tests labelled tsan (the
#                         concurrency tests, and kotod streaming, reloading and stopping
#                         under load); any report fails them
#   ./build.sh fuzz [S]   build the libFuzzer targets with clang and run every one of them,
#                         S seconds in all (240), split evenly (scripts/fuzz.sh)
#   ./build.sh windows    cross-build kotod.exe with MinGW-w64, run its tests and the service
#                         end to end under Wine (scripts/win-test.sh)
#   ./build.sh build      build only
# Extra arguments after `run` go to kotod (e.g. ./build.sh run --interval 1000).
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-run}
shift || true
jobs=$(nproc 2>/dev/null || echo 2)

build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

node_deps() { # package.json's tools and the dashboard's charting library, pinned by package-lock.json
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
}

scripts/install-deps.sh
case "$mode" in
  run)
    node_deps
    build build
    exec build/kotod "$@"
    ;;
  build)
    node_deps
    build build
    ;;
  test)
    node_deps
    build build
    ctest --test-dir build --output-on-failure -j "$jobs"
    ;;
  sanitize)
    node_deps
    build build-asan -DKT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-asan --output-on-failure -j "$jobs"
    ;;
  tsan)
    node_deps
    build build-tsan -DKT_TSAN=ON -DCMAKE_BUILD_TYPE=Debug
    # halt_on_error: the first report fails the test that caused it.
    # KT_TIME_SCALE: the tests' hang guards allow for the sanitizer's slowness.
    KT_TIME_SCALE=10 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
      ctest --test-dir build-tsan --output-on-failure -j "$jobs" -L tsan
    ;;
  fuzz)
    seconds=${1:-240}
    node_deps # the build copies the dashboard's charting library from node_modules
    build build-fuzz -DKT_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug
    # Seeds in tests/fuzz/corpus/<target>/ stay as they are; new inputs go to
    # the build tree.
    scripts/fuzz.sh build-fuzz "$seconds"
    ;;
  windows)
    node_deps # the service test serves the dashboard, charting library included
    scripts/win-test.sh
    ;;
  *)
    echo "usage: $0 run|test|sanitize|tsan|fuzz|windows|build" >&2
    exit 2
    ;;
esac
