#!/usr/bin/env bash
# Makes work/disk.raw: an msdos table with an ext4 /boot (270 MiB at 1 MiB) and the ext4 root behind it, filled from the chroot.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_assert_chroot_unmounted

disk_layout=softlayer
disk_sectors=$((image_disk_size_mib * 2048))
boot_part=1
boot_start=$disk_first_sector
boot_sectors=$((270 * 2048))
boot_uuid=$(new_uuid)
root_part=2
root_start=$((boot_start + boot_sectors))
root_sectors=$((disk_sectors - root_start))
root_uuid=$(new_uuid)
# GRUB and the kernel live on the /boot file system, at its top
disk_grub_part=$boot_part disk_grub_dir=/grub disk_kernel_dir=

disk_write_fstab \
  "UUID=$root_uuid / ext4 defaults,errors=remount-ro 0 1" \
  "UUID=$boot_uuid /boot ext4 defaults 0 2"

disk_new "$image_disk_size_mib" "start=$boot_start, size=$boot_sectors, type=83, bootable
start=$root_start, size=$root_sectors, type=83"
disk_check_partition 1 "$boot_start" "$boot_sectors" 83
disk_check_partition 2 "$root_start" "$root_sectors" 83
disk_mke2fs "$boot_start" "$boot_sectors" "$boot_uuid" "$chroot/boot"
# the root file system gets /boot as an empty mount point
disk_mke2fs "$root_start" "$root_sectors" "$root_uuid" "$chroot" /boot
disk_env_write
log "disk.raw: $image_disk_size_mib MiB, /boot ext4 UUID=$boot_uuid at sector $boot_start, root ext4 UUID=$root_uuid at sector $root_start"
