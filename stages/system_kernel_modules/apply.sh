#!/usr/bin/env bash
# Keeps rare file systems, unused protocols, USB storage, bluetooth and nouveau from loading, sets "ipv6 disable=1", removes ZFS modules; system_initramfs puts that configuration in the initramfs.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/stemcell.bash"

version=$(image_kernel_version)
[ -x "$chroot/usr/sbin/update-initramfs" ] || fail "initramfs-tools is not installed: system_kernel must run first"
changed=0

# write_modprobe_file NAME < content: /etc/modprobe.d/NAME of the image, root 0644; a file
# whose content is already right is left alone (and does not count as a change).
write_modprobe_file() {
  local name=$1 file new
  file=$(target "/etc/modprobe.d/$name")
  mkdir -p "$(dirname "$file")"
  new=$(mktemp "$file.XXXXXX")
  cat > "$new"
  if [ -f "$file" ] && [ ! -L "$file" ] && cmp -s "$new" "$file"; then
    rm -f "$new"
    return 0
  fi
  chown root:root "$new"
  chmod 0644 "$new"
  mv -f "$new" "$file"
  changed=1
  log "/etc/modprobe.d/$name written"
}

# Modules a stemcell VM never needs and that widen its attack surface: rarely used file
# systems (each a parser of untrusted disk images), network protocols nothing here speaks,
# USB storage and bluetooth. "blacklist" stops loading by alias (hotplug); "install …
# /bin/false" makes an explicit modprobe fail too. Azure's enable_udf_module re-allows udf
# by removing its two lines from this file.
blacklisted=(usb-storage bluetooth tipc sctp dccp rds cramfs freevxfs jffs2 hfs hfsplus squashfs udf)
{
  printf '%s\n' '# Written by stemforge (system_kernel_modules): modules a BOSH VM does not load.'
  for m in "${blacklisted[@]}"; do printf 'blacklist %s\ninstall %s /bin/false\n' "$m" "$m"; done
} | write_modprobe_file bosh-blacklist.conf

# The kernel command line turns IPv6 off (ipv6.disable=1); where ipv6 is a module, its
# option says the same. The agent turns IPv6 on again for networks that need it.
write_modprobe_file bosh-ipv6.conf <<'EOF'
# Written by stemforge (system_kernel_modules): IPv6 off unless the BOSH agent enables it.
options ipv6 disable=1
EOF

# No graphics driver for virtual display adapters: nouveau only gets in the way of the
# console on GPU instances.
write_modprobe_file bosh-nouveau.conf <<'EOF'
# Written by stemforge (system_kernel_modules): no nouveau on BOSH VMs.
blacklist nouveau
options nouveau modeset=0
EOF

# ZFS: Ubuntu's kernels ship its modules (and zfs-dkms sources would live in /usr/src);
# BOSH does not use ZFS.
mapfile -d '' zfs < <(
  find "$chroot/lib/modules" -xdev \( -type d -path '*/kernel/zfs' -prune -print0 \) -o \
    \( -type f \( -name 'zfs.ko*' -o -name 'spl.ko*' \) -print0 \)
  find "$chroot/usr/src" -xdev -mindepth 1 -maxdepth 1 \( -name 'zfs-*' -o -name 'spl-*' \) -print0 2>/dev/null
)
if [ "${#zfs[@]}" -gt 0 ]; then
  for z in "${zfs[@]}"; do
    rm -rf --one-file-system "$z"
    log "removed ${z#"$chroot"}"
  done
  run_in_chroot "depmod -a $(printf '%q' "$version")"
  changed=1
fi

# What the image's modprobe makes of the configuration (module names with - become _).
config=$(run_in_chroot "modprobe -S $(printf '%q' "$version") --showconfig") || fail "modprobe cannot read its configuration"
for m in "${blacklisted[@]}" nouveau; do
  grep -qx "blacklist ${m//-/_}" <<< "$config" || fail "modprobe does not blacklist $m"
done
for m in "${blacklisted[@]}"; do
  grep -qx "install ${m//-/_} /bin/false" <<< "$config" || fail "modprobe would still load $m on request"
done
grep -qx 'options ipv6 disable=1' <<< "$config" || fail "modprobe does not pass disable=1 to ipv6"
[ -z "$(find "$chroot/lib/modules" -xdev -type f \( -name 'zfs.ko*' -o -name 'spl.ko*' \) -print -quit)" ] || fail "ZFS modules are left"

# The initramfs carries its own copy of /etc/modprobe.d (modules load from it before the
# root file system is mounted): system_initramfs builds it after every stage that changes it.
assert_no_chroot_processes
if [ "$changed" = 1 ]; then state=written; else state='already in place'; fi
log "kernel $version: ${#blacklisted[@]} modules and nouveau blacklisted, ipv6 disable=1, ${#zfs[@]} ZFS paths removed (configuration $state)"
