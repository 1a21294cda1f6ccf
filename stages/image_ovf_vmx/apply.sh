#!/usr/bin/env bash
# Converts disk.raw into the VM's disk, work/ovf/image-disk1.vmdk (streamOptimized, lsilogic), as an OVF import wants it.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

# The reference writes a .vmx and lets VMware's ovftool make the disk and the descriptor;
# here qemu-img makes the disk and image_ovf_generate writes the descriptor.
# shellcheck disable=SC2119 # no layouts named: any disk layout will do
disk_env_load
ovf_dir="$work/ovf"
rm -rf "$ovf_dir"
mkdir -p "$ovf_dir"
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized,adapter_type=lsilogic "$disk_file" "$ovf_dir/image-disk1.vmdk.part"
mv -f "$ovf_dir/image-disk1.vmdk.part" "$ovf_dir/image-disk1.vmdk"
log "image-disk1.vmdk: $(stat -c %s "$ovf_dir/image-disk1.vmdk") bytes for a $((disk_sectors / 2048)) MiB disk"
