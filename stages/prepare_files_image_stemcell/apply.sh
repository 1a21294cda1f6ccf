#!/usr/bin/env bash
# Packs the whole chroot (with /tmp 1777, as containers want it) as a gzip tar of ./ entries with numeric owners.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

disk_assert_chroot_unmounted
tmp_dir=$(target /tmp)
[[ -d "$tmp_dir" && ! -L "$tmp_dir" ]] || fail "the image has no /tmp directory"
# root:root 1777 as on any Linux: bosh_harden's root:vcap 0770 is for VMs, where the agent
# sets /tmp up itself; in a container it stays as packed.
chown root:root "$tmp_dir"
chmod 1777 "$tmp_dir"
mkdir -p "$work/package"
out="$work/package/$stage_name.image"
tar_gz "$out" "$chroot" . -- --one-file-system
publish_image "$out"
