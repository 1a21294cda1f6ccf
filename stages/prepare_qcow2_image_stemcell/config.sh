#!/usr/bin/env bash
# Checks the build machine's tools for converting the disk to qcow2.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_require_tools qemu-img tar "$(gzip_program)"
