#!/usr/bin/env bash
# Checks the build machine's tools for packing the chroot.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_require_tools tar "$(gzip_program)"
