#!/usr/bin/env bash
# Provisions a stemforge builder VM: installs what the stages need. Vagrant runs it as root
# on first boot; stemforge runs it again (vagrant provision) whenever this file changes.
# Idempotent: it records its own sha256 and does nothing when that is already recorded.
# Proxy settings arrive as http_proxy/https_proxy/no_proxy in the environment.
set -euo pipefail

marker=/var/lib/stemforge/provisioned
self_sha=$(sha256sum "$0" | cut -d' ' -f1)
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$self_sha" ]; then
  echo "stemforge: builder already provisioned ($self_sha)"
  exit 0
fi

packages=(
  debootstrap debian-archive-keyring   # base_debootstrap (Debian lines)
  e2fsprogs dosfstools mtools fdisk    # disk images: ext4, the ESP, partition tables
  qemu-utils                           # qemu-img: qcow2, vhd, vmdk
  rsync tar gzip pigz xz-utils zstd bzip2 ca-certificates util-linux procps
)
case "$(dpkg --print-architecture)" in
  amd64) packages+=(grub-pc-bin grub-efi-amd64-bin) ;;
  arm64) packages+=(grub-efi-arm64-bin) ;;
esac

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
