#!/usr/bin/env bash
# Names the EC2 boot disk drivers (NVMe for Nitro EBS, xen-blkfront) for the initramfs and checks the kernel has the ENA and Xen network drivers.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

# The reference's stage is empty: Ubuntu's generic kernel and initramfs happen to carry
# these. Here they are named, so an image that would not find its root disk on an EC2
# instance (Nitro: NVMe; Xen: xen-blkfront) or would have no network (ENA, xen-netfront)
# fails the build. The network drivers load after the root file system is mounted, so
# they only need to be in the kernel.
request_initramfs_modules nvme xen-blkfront
assert_kernel_modules ena xen-netfront
