#!/usr/bin/env bash
# Packs image.ovf, image.mf and image-disk1.vmdk (manifest checked first) as the stemcell image, a gzip tar.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

ovf_dir="$work/ovf"
files=(image.ovf image.mf image-disk1.vmdk)
for f in "${files[@]}"; do [ -f "$ovf_dir/$f" ] || fail "no $ovf_dir/$f (image_ovf_vmx and image_ovf_generate make them)"; done
while read -r line; do
  [[ $line =~ ^SHA1\((.+)\)=\ ([0-9a-f]{40})$ ]] || fail "image.mf has a line that is not SHA1(file)= hex: $line"
  [ "$(sha1sum < "$ovf_dir/${BASH_REMATCH[1]}" | cut -d' ' -f1)" = "${BASH_REMATCH[2]}" ] || fail "${BASH_REMATCH[1]} does not match image.mf"
done < "$ovf_dir/image.mf"
[ "$(wc -l < "$ovf_dir/image.mf")" -eq 2 ] || fail "image.mf must name image.ovf and image-disk1.vmdk"

mkdir -p "$work/package"
out="$work/package/$stage_name.image"
# the descriptor first, as an OVA reader expects it
tar_gz "$out" "$ovf_dir" "${files[@]}" -- --no-recursion --owner=0 --group=0
publish_image "$out"
