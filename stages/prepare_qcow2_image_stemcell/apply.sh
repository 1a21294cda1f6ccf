#!/usr/bin/env bash
# Packs disk.raw as a compressed qcow2 (compat 0.10, for old OpenStack clouds) named root.img in a gzip tar.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

# shellcheck disable=SC2119 # no layouts named: any disk layout will do
disk_env_load
dir=$(package_dir)
qemu-img convert -q -c -f raw -O qcow2 -o compat=0.10 "$disk_file" "$dir/root.img"
log "root.img: qcow2, $(stat -c %s "$dir/root.img") bytes"
tar_gz "$dir.image" "$dir" root.img
rm -rf "$dir"
publish_image "$dir.image"
