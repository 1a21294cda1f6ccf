#!/usr/bin/env bash
# Lists every static library (*.a) of the image, including those of the installed kernel's tree, in /var/vcap/bosh/etc/static_libraries_list, which the agent deletes when a deployment sets remove_static_libraries.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/stemcell.bash"

# The reference ships a fixed list per release with the kernel version filled in; the list
# is made here from the image itself instead, after the kernel is installed, so it names
# exactly the libraries there are (kernel header trees of that version included, where a
# line installs them). Files and links, as `find / -iname '*.a'` on a VM would see them.
kernel=$(image_kernel_version)
list=$(find "$chroot" -xdev \( -type f -o -type l \) -iname '*.a' -printf '/%P\n' | LC_ALL=C sort)
[ -n "$list" ] || fail "no static library in the image (libc6-dev alone brings several)"

ensure_bosh_dirs
out=$(target "$bosh_etc_dir/static_libraries_list")
write_file 0644 "$out" <<< "$list"
in_kernel_tree=$(grep -c -e "/$kernel/" -e "-$kernel/" <<< "$list" || true)
log "$bosh_etc_dir/static_libraries_list: $(wc -l <<< "$list") static libraries (kernel $kernel: $in_kernel_tree of them in its trees)"
