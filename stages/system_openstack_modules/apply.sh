#!/usr/bin/env bash
# Names the paravirtual boot disk drivers (virtio; on Xen hosts also xen-blkfront) for the initramfs and checks the kernel has the network ones.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

# The reference's stage is empty: Ubuntu's generic kernel and initramfs happen to carry
# these. Here they are named, so an image that would not find its root disk on OpenStack
# or CloudStack (virtio block or SCSI over PCI; Xen block front end on Xen hosts) or would
# have no network fails the build. Network drivers only need to be in the kernel.
disk_modules=(virtio_pci virtio_blk virtio_scsi)
net_modules=(virtio_net)
case "${stemcell_hypervisor:-}" in
  xen) disk_modules+=(xen-blkfront) net_modules+=(xen-netfront) ;;
  kvm) ;;
  *) fail "stemcell_hypervisor is '${stemcell_hypervisor:-}', expected kvm or xen" ;;
esac
request_initramfs_modules "${disk_modules[@]}"
assert_kernel_modules "${net_modules[@]}"
