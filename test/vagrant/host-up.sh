#!/usr/bin/env bash
# Brings up the libvirt host for the real-VM tests, without systemd:
#   1. network namespace $NETNS with lo up (the VM network lives only there),
#   2. virtlogd -d (root namespace; it only serves a Unix socket),
#   3. libvirtd -d INSIDE the netns, so the bridge, dnsmasq, NAT rules and qemu's tap
#      devices that it creates are all inside it,
#   4. storage pool "default" on /var/lib/libvirt/images, active.
# Pid files go to $VM_HOST_STATE. Idempotent: what is already up (ours) is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
require_root

mkdir -p "$VM_HOST_STATE" /run/libvirt /var/lib/libvirt/images /var/log/libvirt

# 0. /dev/kvm: libvirt probes qemu's capabilities as root (finding KVM) but checks the
# cached result as the qemu user (libvirt-qemu, group kvm). With /dev/kvm root-only,
# as without udev here, the two never agree and every libvirt call re-probes qemu
# (~4 s each; a `vagrant up` took 114 s instead of ~40 s). Make /dev/kvm group kvm 0660,
# as udev would, and remember the old owner/mode for host-down.sh to restore. The VM
# still runs under TCG (driver "qemu"). VM_HOST_FIX_KVM=0 skips this.
if [ "${VM_HOST_FIX_KVM:-1}" = 1 ] && [ -c /dev/kvm ] && getent group kvm >/dev/null; then
  if [ "$(stat -c '%G %a' /dev/kvm)" != "kvm 660" ]; then
    [ -f "$VM_HOST_STATE/kvm.orig" ] || stat -c '%u:%g %a' /dev/kvm >"$VM_HOST_STATE/kvm.orig"
    chgrp kvm /dev/kvm
    chmod 0660 /dev/kvm
    say "/dev/kvm: group kvm, mode 0660 (was $(cat "$VM_HOST_STATE/kvm.orig"))"
  fi
fi

# 1. netns
if ! netns_exists; then
  ip netns add "$NETNS"
  say "created netns $NETNS"
fi
in_ns ip link set lo up

# 2. virtlogd
virtlogd_pid=$(pid_from "$VM_HOST_STATE/virtlogd.pid" virtlogd)
if [ -z "$virtlogd_pid" ]; then
  other=$(alive_named virtlogd)
  if [ -n "$other" ]; then
    # A virtlogd we did not start serves /run/libvirt/virtlogd-sock: use it, never stop it.
    say "using the running virtlogd (pid ${other//$'\n'/ }) that host-up did not start"
  else
    virtlogd -d -p "$VM_HOST_STATE/virtlogd.pid"
    virtlogd_pid=$(pid_from "$VM_HOST_STATE/virtlogd.pid" virtlogd)
    [ -n "$virtlogd_pid" ] || die "virtlogd did not start"
    say "started virtlogd (pid $virtlogd_pid)"
  fi
fi

# 3. libvirtd in the netns
libvirtd_pid=$(pid_from "$VM_HOST_STATE/libvirtd.pid" libvirtd)
if [ -n "$libvirtd_pid" ] && [ "$(ip netns identify "$libvirtd_pid" 2>/dev/null)" != "$NETNS" ]; then
  say "our libvirtd (pid $libvirtd_pid) is not in netns $NETNS; restarting it"
  stop_pid "$libvirtd_pid" libvirtd
  rm -f "$VM_HOST_STATE/libvirtd.pid"
  libvirtd_pid=
fi
if [ -z "$libvirtd_pid" ]; then
  other=$(alive_named libvirtd)
  [ -z "$other" ] || die "a libvirtd that host-up did not start is running (pid ${other//$'\n'/ }); it owns /run/libvirt/libvirt-sock, stop it first"
  in_ns libvirtd -d -p "$VM_HOST_STATE/libvirtd.pid"
  libvirtd_pid=$(pid_from "$VM_HOST_STATE/libvirtd.pid" libvirtd)
  [ -n "$libvirtd_pid" ] || die "libvirtd did not start (see /var/log/libvirt/libvirtd.log)"
  say "started libvirtd (pid $libvirtd_pid) in netns $NETNS"
fi

for _ in $(seq 1 100); do
  virsh_ns list >/dev/null 2>&1 && break
  sleep 0.1
done
virsh_ns list >/dev/null || die "libvirtd does not answer on $VIRSH_URI"

# 4. storage pool "default"
if ! virsh_ns pool-info default >/dev/null 2>&1; then
  virsh_ns pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
  say "defined storage pool default"
fi
if ! out=$(virsh_ns pool-start default 2>&1); then
  case $out in
    *"already active"*) ;;
    *) die "pool-start default: $out" ;;
  esac
fi
virsh_ns pool-autostart default >/dev/null
say "up: netns $NETNS, libvirtd pid $libvirtd_pid, state $VM_HOST_STATE"
