#!/usr/bin/env bash
# Provisions a stemforge builder VM: installs what the stages need. Vagrant runs it as root
# on first boot; stemforge runs it again (vagrant provision) whenever this file changes.
# Idempotent: it records its own sha256 and does nothing when that is already recorded.
# Proxy settings arrive as http_proxy/https_proxy/no_proxy in the environment.
set -euo pipefail

# The packages the stages need on this VM, one a line. GRUB is not among them: the stages run
# the image's own GRUB tools in its chroot. A VM that is not amd64 (arm64 on an Apple Silicon
# or arm64 Linux host) runs the amd64 image's programs through binfmt_misc: qemu-user-static
# is the emulator where the hypervisor shares no Rosetta, and binfmt-support manages entries.
selected_packages() {
  printf '%s\n' debootstrap debian-archive-keyring # base_debootstrap (Debian lines)
  printf '%s\n' e2fsprogs dosfstools mtools fdisk   # disk images: ext4, the ESP, partition tables
  printf '%s\n' qemu-utils                          # qemu-img: qcow2, vhd, vmdk
  printf '%s\n' rsync tar gzip pigz xz-utils zstd bzip2 ca-certificates util-linux procps
  if [ "$(dpkg --print-architecture)" != amd64 ]; then printf '%s\n' qemu-user-static binfmt-support; fi
}

# --print-packages: the selection alone, nothing installed (for tests and the curious)
if [ "${1:-}" = --print-packages ]; then
  selected_packages
  exit 0
fi

marker=/var/lib/stemforge/provisioned
self_sha=$(sha256sum "$0" | cut -d' ' -f1)
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$self_sha" ]; then
  echo "stemforge: builder already provisioned ($self_sha)"
  exit 0
fi

mapfile -t packages < <(selected_packages)

installed() {
  dpkg-query -W -f='${Status}\n' "$@" 2>/dev/null | grep -c '^install ok installed$' || true
}

record_provisioned() {
  mkdir -p "$(dirname "$marker")"
  printf '%s\n' "$self_sha" > "$marker.part"
  mv -f "$marker.part" "$marker"
  echo "stemforge: builder provisioned ($self_sha)"
}

export DEBIAN_FRONTEND=noninteractive
if [ "$(installed "${packages[@]}")" -eq "${#packages[@]}" ]; then
  # everything is there already (a prepared box, or a re-run): no archive round trips
  echo "stemforge: the builder's packages are already installed"
  record_provisioned
  exit 0
fi
apt-get update -q
# Ubuntu's archive keyring, to bootstrap the Ubuntu lines, where this distribution has it
candidate=$(apt-cache policy ubuntu-keyring 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then packages+=(ubuntu-keyring); fi
echo "stemforge: installing ${packages[*]}"
apt-get install -y -q --no-install-recommends "${packages[@]}"
apt-get clean
record_provisioned
