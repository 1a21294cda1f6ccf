#!/usr/bin/env bash
# Checks the disk size and the build machine's tools for the /boot + root disk image.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_assert_size 1024
disk_require_tools truncate sfdisk mke2fs unshare
