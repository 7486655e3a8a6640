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
