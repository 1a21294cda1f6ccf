#!/usr/bin/env bash
# Packs disk.raw as the stemcell image the way GCE imports a disk: a sparse oldgnu gzip tar holding disk.raw.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

# shellcheck disable=SC2119 # no layouts named: any disk layout will do
disk_env_load
dir=$(package_dir)
ln "$disk_file" "$dir/disk.raw"
# GCE's image import reads tars in the old GNU format; sparse, so the holes stay holes
tar_gz "$dir.image" "$dir" disk.raw -- --format=oldgnu --sparse
rm -rf "$dir"
publish_image "$dir.image"
