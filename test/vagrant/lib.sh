# shellcheck shell=bash
# Shared by the test/vagrant scripts (sourced, not run).
# Settings come from the environment:
#   NETNS          network namespace for libvirtd, the VM network and vagrant (default sfvm)
#   VM_HOST_STATE  pid files, logs, sockets of what these scripts start
#                  (default /run/stemforge-vm-host)

NETNS=${NETNS:-sfvm}
VM_HOST_STATE=${VM_HOST_STATE:-/run/stemforge-vm-host}
VIRSH_URI=qemu:///system
# shellcheck disable=SC2034 # used by the scripts that source this file
PROXY_PORT=3128

say() { echo "${0##*/}: $*" >&2; }
die() { say "$*"; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "run as root"
}

netns_exists() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$NETNS"
}

in_ns() { ip netns exec "$NETNS" "$@"; }

virsh_ns() { in_ns virsh -q -c "$VIRSH_URI" "$@"; }

# alive PID: the process exists and is not a zombie. (Daemons started here are
# re-parented to PID 1, which may take a while to reap them; a zombie has exited.)
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# alive_named COMM: pids of live (non-zombie) processes with that command name.
alive_named() {
  local pid
  for pid in $(pgrep -x "$1"); do
    if alive "$pid"; then echo "$pid"; fi
  done
}

# pid_from FILE COMM: prints the pid recorded in FILE if that process is alive and its
# command name is COMM; otherwise removes the stale file and prints nothing.
pid_from() {
  local file=$1 comm=$2 pid
  [ -f "$file" ] || return 0
  pid=$(tr -dc '0-9' <"$file")
  if [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
    echo "$pid"
  else
    rm -f "$file"
  fi
}

# wait_gone PID SECONDS: true once PID has exited.
wait_gone() {
  local pid=$1 tenths=$(( $2 * 10 ))
  while [ "$tenths" -gt 0 ]; do
    alive "$pid" || return 0
    sleep 0.1
    tenths=$((tenths - 1))
  done
  ! alive "$pid"
}

# stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_gone "$pid" 15; then
    say "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || say "$name (pid $pid) is still there"
  fi
}

# stop_pidfile FILE COMM NAME
stop_pidfile() {
  local pid
  pid=$(pid_from "$1" "$2")
  if [ -n "$pid" ]; then
    stop_pid "$pid" "$3"
    if alive "$pid"; then return 1; fi
    say "stopped $3 (pid $pid)"
  fi
  rm -f "$1"
}
