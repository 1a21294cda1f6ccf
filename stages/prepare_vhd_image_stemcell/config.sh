#!/usr/bin/env bash
# Checks the disk size (whole MiB, as Azure wants) and the build machine's tools for the fixed VHD.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_assert_size 1
disk_require_tools qemu-img tar "$(gzip_program)"
