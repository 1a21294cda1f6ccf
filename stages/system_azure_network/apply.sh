#!/usr/bin/env bash
# Azure's network setup before the agent runs: host name, loopback, eth0 by DHCP (systemd-networkd), port 65330 reserved.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# Azure runs this stage instead of system_network, so it also does that stage's part: the
# stemcell host name, a loopback-only /etc/network/interfaces and no persistent NIC names.
# Deviation: the reference puts "iface eth0 inet dhcp" into /etc/network/interfaces. The
# agent configures the network with systemd-networkd (10_<interface>.network files), the
# image has no DHCP client for ifupdown, and two DHCP clients on eth0 would fight; so the
# boot-time DHCP is a low-priority systemd-networkd file instead.
[ -x "$chroot/lib/systemd/systemd-networkd" ] || fail "systemd-networkd is missing from the image"
if ! chroot "$chroot" systemctl is-enabled --quiet systemd-networkd.service 2>/dev/null; then
  systemd_unit enable systemd-networkd.service
fi

hostname_file=$(target /etc/hostname)
printf 'bosh-stemcell\n' | write_file 0644 "$hostname_file"
interfaces=$(target /etc/network/interfaces)
write_file 0644 "$interfaces" <<'IFACES'
# Written by stemforge (system_azure_network): the loopback only; eth0 is configured by
# systemd-networkd (/etc/systemd/network), first by DHCP, then by the BOSH agent.
source-directory /etc/network/interfaces.d

auto lo
iface lo inet loopback
IFACES
run_in_chroot 'rm -f /etc/udev/rules.d/70-persistent-net.rules'
# Nothing else may configure eth0 from ifupdown.
stray=$(grep -rlE '^[[:space:]]*(auto|allow-hotplug|iface)[[:space:]]+eth0' "$chroot/etc/network/interfaces.d" 2>/dev/null || true)
[ -z "$stray" ] || fail "ifupdown files also configure eth0: ${stray//$chroot/}"

network_file=$(target /etc/systemd/network/99-bosh-azure-eth0.network)
write_file 0644 "$network_file" < "$assets_dir/99-bosh-azure-eth0.network"

sysctl_file=$(target /etc/sysctl.d/90-azure-sysctl.conf)
write_file 0644 "$sysctl_file" < "$assets_dir/90-azure-sysctl.conf"
# Only written into the image, never applied here; the key must be one the kernel knows.
[ -e /proc/sys/net/ipv4/ip_local_reserved_ports ] || fail "the kernel has no net.ipv4.ip_local_reserved_ports"

# ifupdown (when the image has it) must see only the loopback.
if [ -x "$chroot/sbin/ifquery" ]; then
  listed=$(run_in_chroot 'ifquery --list --allow auto' | tr '\n' ' ')
  [ "$listed" = 'lo ' ] || fail "ifupdown would bring up: $listed (expected only lo)"
fi
log "hostname bosh-stemcell; eth0 by DHCP through systemd-networkd until the agent takes over; port 65330 reserved"
