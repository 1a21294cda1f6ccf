#!/usr/bin/env bash
# Makes work/disk.raw: an msdos table with a FAT32 ESP (1-49 MiB) and the ext4 root from 50 MiB, filled from the chroot.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_assert_chroot_unmounted

disk_layout=efi
disk_sectors=$((image_disk_size_mib * 2048))
esp_part=1
esp_start=$disk_first_sector
esp_sectors=$((48 * 2048))
esp_volid=$(new_fat_volid)
esp_volid="${esp_volid:0:4}-${esp_volid:4:4}"
root_part=2
root_start=$((50 * 2048))
root_sectors=$((disk_sectors - root_start))
root_uuid=$(new_uuid)
disk_grub_part=$root_part disk_grub_dir=/boot/grub disk_kernel_dir=/boot

# The ESP is mounted at /boot/efi, readable by root only (umask 0177). The image has no
# fsck.vfat (dosfstools), so it is not checked at boot.
mkdir -p "$(target /boot/efi)"
chmod 0755 "$chroot/boot/efi"
disk_write_fstab \
  "UUID=$root_uuid / ext4 defaults,errors=remount-ro 0 1" \
  "UUID=$esp_volid /boot/efi vfat umask=0177 0 0"

# The root partition is the active one, for BIOSes that boot the same disk through its MBR.
disk_new "$image_disk_size_mib" "start=$esp_start, size=$esp_sectors, type=ef
start=$root_start, size=$root_sectors, type=83, bootable"
disk_check_partition 1 "$esp_start" "$esp_sectors" ef
disk_check_partition 2 "$root_start" "$root_sectors" 83
disk_mkfs_esp "$esp_start" "$esp_sectors" "$esp_volid"
disk_mke2fs "$root_start" "$root_sectors" "$root_uuid" "$chroot"
disk_env_write
log "disk.raw: $image_disk_size_mib MiB, ESP FAT32 $esp_volid at sector $esp_start, root ext4 UUID=$root_uuid at sector $root_start"
