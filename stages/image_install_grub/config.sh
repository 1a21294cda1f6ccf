#!/usr/bin/env bash
# Checks the kernel command line and the build machine's tools for installing GRUB into disk.raw.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

assert_value kernel_cmdline
disk_require_tools unshare mount umount losetup dd od mkfs.vfat mmd mcopy
