#!/usr/bin/env bash
# Packs disk.raw as the stemcell image: a gzip tar holding root.img.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

# shellcheck disable=SC2119 # no layouts named: any disk layout will do
disk_env_load
dir=$(package_dir)
# a hard link, not a copy: the tar reads the disk itself
ln "$disk_file" "$dir/root.img"
tar_gz "$dir.image" "$dir" root.img
rm -rf "$dir"
publish_image "$dir.image"
