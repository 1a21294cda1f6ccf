#!/usr/bin/env bash
# Gives the image the hostname bosh-stemcell, a loopback-only /etc/network/interfaces and no persistent interface-name rules; the agent configures the network at boot.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/hardening.bash"

# Interface names must not stick to the MAC addresses of the machine an image first ran on
# (the kernel command line has net.ifnames=0: eth0, eth1, ...).
for rules in /etc/udev/rules.d/70-persistent-net.rules /etc/udev/rules.d/75-persistent-net-generator.rules; do
  if [ -e "$chroot$rules" ] || [ -L "$chroot$rules" ]; then rm -f "$chroot$rules"; log "removed $rules"; fi
done

# The hostname every stemcell VM has until the agent sets its own (the Director's instance
# id); the same name resolves locally, so sudo and friends do not wait for DNS.
hostname_file=$(target /etc/hostname)
install_if_changed 0644 "$hostname_file" <<< 'bosh-stemcell'
hosts=$(target /etc/hosts)
[ -f "$hosts" ] || fail "/etc/hosts is missing"
if ! grep -Eq '^127\.0\.1\.1[[:space:]]+bosh-stemcell([[:space:]]|$)' "$hosts"; then
  tmp=$(mktemp "$hosts.XXXXXX")
  awk '!/^127\.0\.1\.1[[:space:]]/' "$hosts" > "$tmp"
  printf '127.0.1.1 bosh-stemcell\n' >> "$tmp"
  replace_if_changed "$tmp" "$hosts"
fi

# ifupdown handles the loopback only: the agent writes systemd-networkd files for the
# real interfaces. interfaces.d stays included for infrastructure stages that need more.
interfaces=$(target /etc/network/interfaces)
install_if_changed 0644 "$interfaces" <<'EOF2'
# Written by stemforge (system_network): the loopback interface only. The BOSH agent
# configures the VM's network interfaces (systemd-networkd, /etc/systemd/network).
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
EOF2
mkdir -p "$chroot/etc/network/interfaces.d"
log "hostname bosh-stemcell; /etc/network/interfaces: loopback only"
