#!/usr/bin/env bash
# Packs disk.raw as a fixed-size VHD of exactly the disk's size (root.vhd) in a gzip tar, as Azure takes it.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

# shellcheck disable=SC2119 # no layouts named: any disk layout will do
disk_env_load
[ $((disk_sectors % 2048)) -eq 0 ] || fail "disk.raw is not a whole number of MiB; Azure rejects such a VHD"
dir=$(package_dir)
# force_size: the virtual size is the disk's size, not rounded to a CHS geometry
qemu-img convert -q -f raw -O vpc -o subformat=fixed,force_size "$disk_file" "$dir/root.vhd"
# the VHD footer (the file's last 512 bytes, big-endian): cookie "conectix", disk type at
# 60 (2 = fixed), current size at 48. qemu-img info counts the footer into a fixed VHD's size.
footer=$(get_hex $(($(stat -c %s "$dir/root.vhd") - 512)) 512 "$dir/root.vhd")
[ "${footer:0:16}" = "$(printf conectix | od -An -tx1 | tr -d ' \n')" ] || fail "root.vhd has no VHD footer"
[ "$((16#${footer:120:8}))" -eq 2 ] || fail "root.vhd is not a fixed VHD"
[ "$((16#${footer:96:16}))" -eq $((disk_sectors * disk_sector)) ] || fail "root.vhd's size is $((16#${footer:96:16})), not the disk's"
tar_gz "$dir.image" "$dir" root.vhd
rm -rf "$dir"
publish_image "$dir.image"
