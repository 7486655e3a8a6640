#!/bin/sh
# Runs a Windows test program under Wine with Unix symlinks and a FIFO
# planted for it, which Wine 8 shows to Windows programs as plain files,
# directories and pipes (it cannot make Windows symbolic links or junctions):
#   scripts/   evil.ps1 -> ../outside.txt, dangling.ps1 -> ../nonexistent,
#              dlink.ps1 -> ../outdir, fifo.ps1 (a FIFO)
#   linked-scripts -> scripts
#   web/       index.html, leak.html -> ../outside.txt, sub -> ../outdir,
#              alias.html -> index.html
# The program finds them in KT_UNIX_LINKS (a Windows path). Afterwards this
# checks from the Unix side that nothing behind a link was written.
#   Usage: unix_links.sh WINE PROGRAM.exe [args]
set -eu
wine="$1"
shift
: "${WINEPREFIX:?run through scripts/win-test.sh (it sets up Wine)}"
name="kt-unix-links-$$"
dir="$WINEPREFIX/drive_c/$name"
rm -rf "$dir"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/scripts" "$dir/outdir" "$dir/web"
printf 'original\n' >"$dir/outside.txt"
printf '<p>out</p>\n' >"$dir/outdir/x.html"
ln -s "$dir/outside.txt" "$dir/scripts/evil.ps1"
ln -s "$dir/nonexistent" "$dir/scripts/dangling.ps1"
ln -s "$dir/outdir" "$dir/scripts/dlink.ps1"
mkfifo "$dir/scripts/fifo.ps1"
ln -s "$dir/scripts" "$dir/linked-scripts"
printf '<p>in</p>\n' >"$dir/web/index.html"
ln -s "$dir/outside.txt" "$dir/web/leak.html"
ln -s "$dir/outdir" "$dir/web/sub"
ln -s index.html "$dir/web/alias.html"

rc=0
KT_UNIX_LINKS="C:\\$name" "$wine" "$@" || rc=$?

[ "$(cat "$dir/outside.txt")" = original ] || { echo "FAIL: outside.txt was written" >&2; rc=1; }
[ ! -e "$dir/nonexistent" ] || { echo "FAIL: a file was created through a dangling link" >&2; rc=1; }
[ "$(ls -A "$dir/outdir")" = x.html ] || { echo "FAIL: outdir/ was written" >&2; rc=1; }
if ! [ -L "$dir/scripts/evil.ps1" ] || ! [ -p "$dir/scripts/fifo.ps1" ]; then
  echo "FAIL: a planted link or FIFO was replaced" >&2
  rc=1
fi
exit $rc
