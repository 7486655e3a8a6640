# bench/lib.sh - sourced by the benchmark scripts.

# free_port: a loopback TCP port nothing is bound to or connected from
# (/proc/net/tcp{,6}), below Linux's ephemeral range (32768-60999). A port
# inside that range can be taken as the source of one of the many connects
# a poller makes while a server starts, and the server's bind then fails with
# "Address already in use"; a port the kernel picked (bind to port 0) is
# always inside it.
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    grep -qs -- "$(printf ':%04X ' "$p")" /proc/net/tcp /proc/net/tcp6 || { echo "$p"; return 0; }
  done
  echo "free_port: no free loopback port found" >&2
  return 1
}

# half_core NAME PID...: hold the processes (every thread, and those they
# start) to half of one CPU, in a cgroup of their own: a CPU quota of 5 ms
# in every 10 ms, under cgroup v2 (cpu.max) or v1 (cfs_quota_us). Echoes
# "DIR ORIGIN": the new cgroup and the one the first PID was in, for
# unhold. Fails, saying why and leaving nothing, where no cpu controller
# can be written (not root, none mounted) or a PID cannot be moved. Under
# v2 it may enable the cpu controller at the root, and leaves it so.
half_core() {
  local name=$1 d top origin p
  shift
  if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    top=/sys/fs/cgroup
    origin=$top$(sed -n 's/^0:://p' "/proc/$1/cgroup")
    grep -qw cpu $top/cgroup.subtree_control 2>/dev/null ||
      echo +cpu 2>/dev/null >$top/cgroup.subtree_control || true
    d=$top/koto-bench-$name-$$
    mkdir "$d" 2>/dev/null || { echo "half_core: cannot make $d (root?)" >&2; return 1; }
    echo "5000 10000" 2>/dev/null >"$d/cpu.max" || {
      rmdir "$d"; echo "half_core: no cpu.max in $d" >&2; return 1; }
  elif [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    top=/sys/fs/cgroup/cpu
    origin=$top$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3 }' "/proc/$1/cgroup")
    d=$top/koto-bench-$name-$$
    mkdir "$d" 2>/dev/null || { echo "half_core: cannot make $d (root?)" >&2; return 1; }
    { echo 10000 >"$d/cpu.cfs_period_us" && echo 5000 >"$d/cpu.cfs_quota_us"; } 2>/dev/null || {
      rmdir "$d"; echo "half_core: cannot set a quota in $d" >&2; return 1; }
  else
    echo "half_core: no cgroup cpu controller mounted" >&2
    return 1
  fi
  for p in "$@"; do
    echo "$p" 2>/dev/null >"$d/cgroup.procs" || {
      unhold "$d $origin"; echo "half_core: cannot move $p into $d" >&2; return 1; }
  done
  echo "$d $origin"
}

# unhold "DIR ORIGIN": move what half_core held back where it was, remove DIR.
unhold() {
  local d=${1% *} origin=${1#* } p
  for p in $(cat "$d/cgroup.procs" 2>/dev/null); do
    echo "$p" 2>/dev/null >"$origin/cgroup.procs" || true
  done
  rmdir "$d" 2>/dev/null || true
}
