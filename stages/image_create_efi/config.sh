#!/usr/bin/env bash
# Checks the disk size and the build machine's tools for the ESP + root disk image.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_assert_size 512
disk_require_tools truncate sfdisk mke2fs mkfs.vfat
