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
# the cgroup's directory (for unhold); fails, saying why, where no cpu
# controller can be written (not root, or none mounted).
half_core() {
  local name=$1 d
  shift
  if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
      echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
    d=/sys/fs/cgroup/koto-bench-$name-$$
    mkdir "$d" 2>/dev/null && echo "5000 10000" >"$d/cpu.max" 2>/dev/null || {
      echo "half_core: cannot make a cgroup v2 with cpu.max (root?)" >&2; return 1; }
  elif [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    d=/sys/fs/cgroup/cpu/koto-bench-$name-$$
    mkdir "$d" 2>/dev/null && echo 10000 >"$d/cpu.cfs_period_us" && echo 5000 >"$d/cpu.cfs_quota_us" || {
      echo "half_core: cannot make a cgroup v1 cpu group (root?)" >&2; return 1; }
  else
    echo "half_core: no cgroup cpu controller mounted" >&2
    return 1
  fi
  local p
  for p in "$@"; do echo "$p" >"$d/cgroup.procs"; done
  echo "$d"
}

# unhold DIR: move what half_core held back to the root cgroup, remove DIR.
unhold() {
  local p
  for p in $(cat "$1/cgroup.procs"); do echo "$p" >"$(dirname "$1")/cgroup.procs" 2>/dev/null || true; done
  rmdir "$1" 2>/dev/null || true
}
