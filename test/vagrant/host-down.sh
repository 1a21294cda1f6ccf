#!/usr/bin/env bash
# Takes down what host-up.sh (and the bridge of proxy-up.sh) started, in an order that
# leaves nothing behind: libvirtd does not stop qemu or dnsmasq when it exits, so every
# running domain and active network is destroyed first. Then libvirtd, virtlogd and the
# socat bridge are stopped by their recorded pids, anything still inside the netns
# (only processes this setup started live there) is stopped, and the netns is deleted.
# Finally it lists anything still running that it had started. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
require_root

libvirtd_pid=$(pid_from "$VM_HOST_STATE/libvirtd.pid" libvirtd)
if [ -n "$libvirtd_pid" ] && netns_exists && virsh_ns list >/dev/null 2>&1; then
  for dom in $(virsh_ns list --name); do
    virsh_ns destroy "$dom" >/dev/null && say "destroyed domain $dom"
  done
  for net in $(virsh_ns net-list --name); do
    virsh_ns net-destroy "$net" >/dev/null && say "destroyed network $net"
  done
fi
stop_pidfile "$VM_HOST_STATE/libvirtd.pid" libvirtd libvirtd || true
stop_pidfile "$VM_HOST_STATE/virtlogd.pid" virtlogd virtlogd || true
stop_pidfile "$VM_HOST_STATE/bridge.pid" socat "proxy bridge" || true

if netns_exists; then
  leftovers=$(ip netns pids "$NETNS" || true)
  for pid in $leftovers; do
    alive "$pid" || continue
    say "stopping leftover $(cat "/proc/$pid/comm" 2>/dev/null || echo '?') (pid $pid) in netns $NETNS"
    stop_pid "$pid" "pid $pid"
  done
  ip netns delete "$NETNS"
  say "deleted netns $NETNS"
fi

# /dev/kvm back to how host-up.sh found it.
if [ -f "$VM_HOST_STATE/kvm.orig" ]; then
  read -r owner mode <"$VM_HOST_STATE/kvm.orig"
  if [ -c /dev/kvm ]; then
    chown "$owner" /dev/kvm
    chmod "$mode" /dev/kvm
    say "/dev/kvm restored to $owner $mode"
  fi
  rm -f "$VM_HOST_STATE/kvm.orig"
fi

# What is left? Our pid files, and the kinds of processes this setup starts.
left=0
for f in libvirtd virtlogd bridge; do
  if [ -f "$VM_HOST_STATE/$f.pid" ]; then
    say "still there: $f pid file $VM_HOST_STATE/$f.pid"
    left=1
  fi
done
if netns_exists; then
  say "still there: netns $NETNS"
  left=1
fi
for pid in $(for n in libvirtd virtlogd dnsmasq socat qemu-system-x86; do alive_named "$n"; done); do
  # Report only processes that belong to this setup: in the (former) netns, or
  # children of processes whose pid we recorded; anything else was not started here.
  case "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" in
    "$(readlink /proc/self/ns/net)") continue ;;
  esac
  say "still running outside the root netns: $(cat "/proc/$pid/comm" 2>/dev/null) (pid $pid)"
  left=1
done
if [ "$left" -eq 0 ]; then say "down: nothing left running"; else exit 1; fi
