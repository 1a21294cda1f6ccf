#!/usr/bin/env bash
# Installs GRUB (BIOS) into disk.raw with its menu and the kernel on the /boot partition, the root mounted by UUID.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_env_load softlayer
disk_install_grub
