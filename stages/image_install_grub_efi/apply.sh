#!/usr/bin/env bash
# Installs GRUB for UEFI (ESP /EFI/BOOT/BOOTX64.EFI) and BIOS into disk.raw, with a password-protected menu booting the kernel by root UUID.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_env_load efi
disk_install_grub
