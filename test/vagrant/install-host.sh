#!/usr/bin/env bash
# Installs, as root, the Debian packages the real-VM tests need on this host:
# Vagrant with the libvirt provider, libvirt + QEMU (TCG is enough), the tools
# build-box.sh uses to make the box, and socat for the proxy bridge.
# Idempotent: asks dpkg first and only runs apt-get (update + install) when
# something is missing. Never installs recommends (they pull in ~450 packages).
set -euo pipefail

packages=(
  vagrant vagrant-libvirt            # vagrant + provider plugin
  libvirt-daemon-system libvirt-clients  # libvirtd, virtlogd, virsh
  qemu-system-x86 qemu-utils         # the emulator; qemu-img for the box
  dnsmasq-base iptables ebtables     # libvirt's NAT network (DHCP + firewall)
  iproute2                           # ip netns
  socat                              # TCP (in the netns) -> Unix socket bridge
  debootstrap debian-archive-keyring # the box's root filesystem
  fdisk e2fsprogs util-linux         # sfdisk, mkfs.ext4, losetup/mount/fstrim
  openssh-client                     # plain ssh into the VM
  ca-certificates
)

# the dpkg check and the apt-get call live in one place
exec bash "$(dirname "${BASH_SOURCE[0]}")/../../scripts/install-build-deps.sh" "${packages[@]}"
