#!/usr/bin/env bash
# Builds each kernel's initramfs once, after every stage that changes what goes into it, and checks it carries the listed boot drivers and the image's modprobe configuration.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/stemcell.bash"
source "$lib_dir/iaas.bash"

# Not a stage of the reference, whose kernel install and module stages each let
# update-initramfs run. Here system_kernel installs with INITRD=No and the module stages only
# name what they need (/etc/modprobe.d, the blocks of /etc/initramfs-tools/modules), so the
# initramfs, a minute or more of work each time, is built once per image. This stage runs
# just before the disk image is made (for warden, before the SBOM).
mapfile -t kernels < <(image_kernels)
[ "${#kernels[@]}" -gt 0 ] || fail "no kernel in the image: system_kernel runs before $stage_name"
[ -x "$chroot/usr/sbin/update-initramfs" ] || fail "update-initramfs is missing: initramfs-tools comes with the kernel (system_kernel)"

# update-initramfs may call the boot loader's commands; the image stages install GRUB.
release_bootloader_commands
hold_bootloader_commands
trap 'release_bootloader_commands' EXIT
for k in "${kernels[@]}"; do
  started=$SECONDS
  if [ -e "$chroot/boot/initrd.img-$k" ]; then mode=-u; else mode=-c; fi
  run_in_chroot "update-initramfs $mode -k $(printf '%q' "$k")" || fail "update-initramfs $mode -k $k failed"
  log "built /boot/initrd.img-$k in $((SECONDS - started))s"
done
release_bootloader_commands
trap - EXIT
calls=$(bootloader_calls)
if [ -n "$calls" ]; then log "held during the build (not run): $(tr '\n' ';' <<< "$calls")"; fi
assert_no_chroot_processes

# What must be inside: every loadable module /etc/initramfs-tools/modules names, and every
# file of the image's /etc/modprobe.d (the initramfs keeps its own copy of that folder).
mapfile -t listed < <(sed -e 's/#.*//' -e 's/^[[:space:]]*//' "$(target /etc/initramfs-tools/modules)" | awk 'NF { print $1 }')
mapfile -t confs < <(find "$chroot/etc/modprobe.d" -maxdepth 1 -name '*.conf' -printf '%f\n' | sort)
for k in "${kernels[@]}"; do
  initrd=/boot/initrd.img-$k
  [ -s "$chroot$initrd" ] || fail "$initrd is missing or empty after update-initramfs"
  listing=$(run_in_chroot "lsinitramfs $(printf '%q' "$initrd")") || fail "lsinitramfs cannot read $initrd"
  absent=()
  for m in "${listed[@]}"; do
    where=$(chroot "$chroot" modinfo -k "$k" -F filename "$m" 2>/dev/null) || fail "$m (named in /etc/initramfs-tools/modules) is not a module of $k"
    [ "$where" != '(builtin)' ] || continue
    grep -q -- "/${where##*/}\$" <<< "$listing" || absent+=("$m")
  done
  for c in "${confs[@]}"; do
    grep -Eq -- "(^|/)etc/modprobe\.d/${c//./\\.}\$" <<< "$listing" || absent+=("/etc/modprobe.d/$c")
  done
  [ "${#absent[@]}" -eq 0 ] || fail "$initrd lacks: ${absent[*]}"
  log "$initrd: ${#listed[@]} named modules (the loadable ones inside), ${#confs[@]} modprobe.d files"
done
for i in "$chroot"/boot/initrd.img-*; do
  [ -e "$chroot/boot/vmlinuz-${i##*/initrd.img-}" ] || fail "an initramfs without its kernel: ${i#"$chroot"}"
done
