#!/usr/bin/env bash
# test_install.sh BUILD_DIR: `cmake --install` lays out the standard tree
# and the installed kotod finds its files from where it is: share/koto/lua
# and share/koto/web beside its sbin/, PREFIX/etc/koto/koto.conf.lua, also
# after the whole tree is moved (nothing absolute is compiled in).
build=$1
source "$(dirname "$0")/lib.sh"

prefix="$tmp/prefix"
check "cmake --install" cmake --install "$build" --prefix "$prefix"
for f in sbin/kotod bin/koto share/man/man1/koto.1.gz lib/koto/koto-run-approved share/koto/lua/rules share/koto/lua/templates \
         share/koto/web/index.html share/koto/web/vendor/uPlot.iife.min.js \
         share/man/man8/kotod.8.gz share/doc/koto/copyright etc/koto/koto.conf.lua \
         lib/systemd/system/kotod.service lib/systemd/system/koto-run-approved.socket \
         lib/systemd/system/koto-run-approved@.service; do
  check "installed: $f" test -e "$prefix/$f"
done
check "the configuration is not among the shipped Lua files" test ! -e "$prefix/share/koto/lua/koto.conf.lua"
check "the unit names the installed kotod" grep -q "^ExecStart=$prefix/sbin/kotod " "$prefix/lib/systemd/system/kotod.service"
check "the manual page reads" sh -c "gzip -dc '$prefix/share/man/man8/kotod.8.gz' | grep -q '^.SH SIGNALS'"
# (the places it used to be given; a sanitizer's or assert's source file
# names are not places kotod looks)
src=$(cd "$(dirname "$0")/../.." && pwd)
bld=$(cd "$build" && pwd)
check "no Lua or web directory of the build or source tree in kotod" sh -c \
  "! grep -a -q -e '$src/lua' -e '$src/web' -e '$bld/web' -e '$bld/lua' '$prefix/sbin/kotod'"

# The installed configuration is the one read: a setting only it has.
echo 'interval_ms = 4321' >>"$prefix/etc/koto/koto.conf.lua"
mv "$prefix" "$tmp/moved" # and the tree works wherever it is
prefix="$tmp/moved"
KOTOD="$prefix/sbin/kotod"
start_kotod --listen 127.0.0.1:0 --state-dir "$tmp/state"
check "the installed kotod starts" wait_log "dashboard at http://" 15
check "it reads PREFIX/etc/koto/koto.conf.lua" grep -q "reading /proc every 4321 ms" "$tmp/kotod.log"
check "it loads the installed rules" grep -q "loaded [0-9]* rules" "$tmp/kotod.log"
port=$(sed -n 's|.*dashboard at http://[^/]*:\([0-9]*\)/.*|\1|p' "$tmp/kotod.log" | head -1)
expect_eq "it serves share/koto/web with the charting library" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/monitoring-dashboard/vendor/uPlot.iife.min.js")"
stop_kotod TERM
expect_eq "it stops cleanly" 0 "$kotod_rc"
check "kotod -t finds the same files" "$KOTOD" -t --state-dir "$tmp/state"
check "--help names the relative defaults" sh -c "'$KOTOD' --help | grep -q 'default ../share/koto/lua from kotod'"
finish
