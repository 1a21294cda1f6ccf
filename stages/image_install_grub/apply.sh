#!/usr/bin/env bash
# Installs GRUB (BIOS boot code, and UEFI when the disk has an ESP) into disk.raw, with a password-protected menu booting the kernel by root UUID.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

# Any layout: the Noble-style lists follow image_create_efi with this stage too.
disk_env_load bios efi softlayer
disk_install_grub
