#!/usr/bin/env bash
# Installs the GRUB tools and modules for the architecture's firmware (BIOS and UEFI on amd64), without installing a bootloader
# or a kernel: the stemcell phase writes both into the disk image it assembles.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# The *-bin packages (grub_packages, per architecture) carry grub-install, grub-mkimage and
# the modules; grub-pc and grub-efi-amd64 would also try to install to a disk from their
# maintainer scripts, and an OS image has no disk.
read -ra packages <<< "$grub_packages"
pkg_install "${packages[@]}"
drop_apt_lists
assert_no_chroot_processes

# The modules under /boot/grub, where the GRUB core image of the stemcell looks for them.
read -ra platforms <<< "$grub_platforms"
for platform in "${platforms[@]}"; do
  src="$chroot/usr/lib/grub/$platform"
  [ -f "$src/normal.mod" ] || fail "GRUB $platform modules are missing from the image"
  mkdir -p "$chroot/boot/grub/$platform"
  cp -a "$src"/. "$chroot/boot/grub/$platform/"
  log "/boot/grub/$platform: $(find "$chroot/boot/grub/$platform" -name '*.mod' | wc -l) modules"
done
# Tooling that probes for a legacy GRUB menu (pv-grub style) finds an empty one.
[ -e "$chroot/boot/grub/menu.lst" ] || : > "$chroot/boot/grub/menu.lst"

# dpkg-query exits 1 when no package matches the pattern, which is the good case here.
# shellcheck disable=SC2016 # dpkg-query format fields
kernels=$({ chroot "$chroot" dpkg-query -W -f='${Package} ${db:Status-Status}\n' 'linux-image-*' 2>/dev/null || true; } | awk '$2 == "installed" { print $1 }')
[ -z "$kernels" ] || fail "the OS image must not contain a kernel, found: $kernels"
log "GRUB $(chroot "$chroot" grub-mkimage --version | awk '{ print $NF }') tools and modules installed"
