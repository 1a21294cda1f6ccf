#!/usr/bin/env bash
# Packs disk.raw as a dynamic VHD (root.vhd), bzip2-compressed (no tar), as CloudStack takes it.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

# shellcheck disable=SC2119 # no layouts named: any disk layout will do
disk_env_load
dir=$(package_dir)
qemu-img convert -q -f raw -O vpc -o subformat=dynamic "$disk_file" "$dir/root.vhd"
format=$(qemu-img info --output=json "$dir/root.vhd" | sed -n 's/^ *"format": "\(.*\)",$/\1/p')
[ "$format" = vpc ] || fail "root.vhd is not a VHD (qemu-img says '$format')"
bz=bzip2
if command -v lbzip2 > /dev/null 2>&1; then bz=lbzip2; fi
"$bz" -c < "$dir/root.vhd" > "$dir.image"
rm -rf "$dir"
publish_image "$dir.image"
