#!/usr/bin/env bash
# Loads virtio_scsi at boot (/etc/modules), names the GCE boot disk drivers (virtio-scsi, NVMe) for the initramfs, checks the network drivers.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

# As the reference: virtio_scsi in /etc/modules (once). Added: the initramfs holds the boot
# disk drivers (persistent disks are virtio-scsi, or NVMe on newer machine series), and the
# kernel has both NICs GCE offers (virtio-net and gVNIC).
modules_file=$(target /etc/modules)
[ -f "$modules_file" ] || printf '# Kernel modules to load at boot time, one per line.\n' | write_file 0644 "$modules_file"
if ! grep -qx 'virtio_scsi' "$modules_file"; then
  printf 'virtio_scsi\n' >> "$modules_file"
  log "virtio_scsi added to /etc/modules"
fi
[ "$(grep -cx 'virtio_scsi' "$modules_file")" = 1 ] || fail "/etc/modules must name virtio_scsi exactly once"
request_initramfs_modules virtio_pci virtio_scsi nvme
assert_kernel_modules virtio_net gve
