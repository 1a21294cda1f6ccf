#!/usr/bin/env bash
# Packs the whole chroot (with /tmp 1777, as containers want it) as a gzip tar of ./ entries with numeric owners.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_assert_chroot_unmounted
tmp_dir=$(target /tmp)
[ -d "$tmp_dir" ] && [ ! -L "$tmp_dir" ] || fail "the image has no /tmp directory"
chmod 1777 "$tmp_dir"
mkdir -p "$work/package"
out="$work/package/$stage_name.image"
tar_gz "$out" "$chroot" . -- --one-file-system
publish_image "$out"
