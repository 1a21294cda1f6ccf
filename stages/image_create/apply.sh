#!/usr/bin/env bash
# Makes work/disk.raw: an msdos table with one ext4 root partition at 1 MiB, filled from the chroot.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_assert_chroot_unmounted

disk_layout=bios
disk_sectors=$((image_disk_size_mib * 2048))
root_part=1
root_start=$disk_first_sector
root_sectors=$((disk_sectors - root_start))
root_uuid=$(new_uuid)
disk_grub_part=$root_part disk_grub_dir=/boot/grub disk_kernel_dir=/boot

# fstab first: the file system is made from the chroot as it is now.
disk_write_fstab "UUID=$root_uuid / ext4 defaults,errors=remount-ro 0 1"

disk_new "$image_disk_size_mib" "start=$root_start, size=$root_sectors, type=83, bootable"
disk_check_partition 1 "$root_start" "$root_sectors" 83
disk_mke2fs "$root_start" "$root_sectors" "$root_uuid" "$chroot"
disk_env_write
log "disk.raw: $image_disk_size_mib MiB, root ext4 UUID=$root_uuid at sector $root_start ($(du -k "$disk_file" | cut -f1) KiB allocated)"
