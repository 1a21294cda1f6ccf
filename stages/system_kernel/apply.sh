#!/usr/bin/env bash
# Installs the line's kernel (kernel_packages) and initramfs-tools, with no bootloader written (the image stages install GRUB) and no initramfs yet (system_initramfs builds it).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/packages.bash"
source "$lib_dir/stemcell.bash"

read -r -a packages <<< "$kernel_packages"
packages+=(initramfs-tools)

# An interrupted earlier run may have left the GRUB commands held.
release_bootloader_commands

missing=()
for p in "${packages[@]}"; do
  [ "$(package_status "$p")" = installed ] || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  # The kernel's maintainer scripts run the hooks in /etc/kernel/postinst.d, and Debian's
  # and Ubuntu's zz-update-grub would rewrite a GRUB menu from the build machine's view of
  # its disks; grub-install could even write to them. Those commands are held for the
  # install (run_in_chroot's policy-rc.d already keeps daemons from starting).
  hold_bootloader_commands
  trap 'release_bootloader_commands' EXIT
  log "installing ${missing[*]}"
  # INITRD=No: the kernel's hook makes no initramfs now. Later stages still change what goes
  # into it (modprobe.d, the infrastructure's disk drivers), and each build costs a minute
  # or more, so system_initramfs builds it once, after them.
  run_in_chroot "export INITRD=No
$(pkg_install_commands "${missing[@]}")"
  release_bootloader_commands
  trap - EXIT
  drop_apt_lists
  assert_no_chroot_processes
  calls=$(bootloader_calls)
  if [ -n "$calls" ]; then log "held during the install (not run): $(tr '\n' ';' <<< "$calls")"; fi
else
  log "already installed: ${packages[*]}"
fi

[ ! -e "$chroot/usr/sbin/policy-rc.d" ] || fail "a policy-rc.d was left in the chroot"
for c in "${held_bootloader_commands[@]}"; do
  [ ! -e "$chroot$c$bootloader_hold_suffix" ] || fail "$c is still held ($c$bootloader_hold_suffix exists)"
done
for p in "${packages[@]}"; do
  [ "$(package_status "$p")" = installed ] || fail "$p is not installed after apt-get"
done
# No boot loader configuration may come from this stage (the image stages write it).
[ ! -e "$chroot/boot/grub/grub.cfg" ] || fail "/boot/grub/grub.cfg exists: something ran update-grub in the image"

# Exactly one kernel, with its modules; no initramfs made by this install.
version=$(image_kernel_version)
[ -d "$chroot/lib/modules/$version" ] || fail "/lib/modules/$version is missing"
[ -x "$chroot/usr/sbin/update-initramfs" ] || fail "update-initramfs is missing after installing initramfs-tools"
if [ "${#missing[@]}" -gt 0 ]; then
  for i in "$chroot"/boot/initrd.img-*; do
    [ ! -e "$i" ] || fail "an initramfs was built during the install: ${i#"$chroot"} (system_initramfs builds it)"
  done
fi
log "kernel $version: /boot/vmlinuz-$version ($(stat -c %s "$chroot/boot/vmlinuz-$version") bytes); its initramfs comes from system_initramfs"
