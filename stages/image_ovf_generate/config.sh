#!/usr/bin/env bash
# Checks the build machine's tools for the OVF descriptor and manifest.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_require_tools sha1sum
assert_value stemcell_name
