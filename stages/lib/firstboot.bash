# shellcheck shell=bash
# The first-boot hook (base_debian_firstboot, base_ubuntu_firstboot). Sourced by them.
#
# A stemcell must not ship SSH host keys (every VM would share them); the stemcell phase
# deletes them. On the first boot of each VM, /root/firstboot.sh makes new ones and
# reconfigures sysstat, then records that it ran so it never runs again. It is started by a
# oneshot systemd unit (the reference uses /etc/rc.local; on systemd lines a unit is the
# native form, and /etc/rc.local is kept as the fallback the reference documents).

install_firstboot() {
  write_file 0755 "$chroot/root/firstboot.sh" < "$lib_dir/assets/firstboot.sh"
  write_file 0644 "$chroot/etc/systemd/system/bosh-firstboot.service" < "$lib_dir/assets/bosh-firstboot.service"
  write_file 0755 "$chroot/etc/rc.local" < "$lib_dir/assets/rc.local"
  systemd_unit enable bosh-firstboot.service
  # the marker must never be part of an image, or the hook would never run
  rm -f "$chroot/root/firstboot_done"
  log "first-boot hook installed: /root/firstboot.sh via bosh-firstboot.service"
}
