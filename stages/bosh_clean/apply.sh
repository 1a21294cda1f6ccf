#!/usr/bin/env bash
# Removes build leftovers: /var/vcap/bosh/src, everything in /tmp, the build machine's name servers in resolv.conf and resolvconf's stored copies.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/stemcell.bash"

# No process may still use the image's /tmp or resolv.conf.
assert_no_chroot_processes

rm -rf --one-file-system "$chroot$bosh_dir/src"

# /tmp's content, dot files included; the directory itself stays (bosh_harden sets its mode).
tmp_dir=$(target /tmp/.)
tmp_dir=${tmp_dir%/.}
[ -d "$tmp_dir" ] || fail "/tmp is missing in the image"
find "$tmp_dir" -xdev -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +

# Name resolution: untar_base_os_image wrote the build machine's servers where the image's
# /etc/resolv.conf leads; from here on the image has none, until the agent (or DHCP)
# writes the VM's. Package installs after this stage cannot resolve names.
resolv=/etc/resolv.conf
if [ -L "$chroot/etc/resolv.conf" ]; then
  resolv=$(chroot "$chroot" /usr/bin/realpath -m /etc/resolv.conf) || fail "cannot resolve /etc/resolv.conf in the image"
fi
resolv_file=$(target "$resolv")
if [ -e "$resolv_file" ]; then
  : > "$resolv_file"
fi
# resolvconf's fragments: "original" is the resolv.conf found when resolvconf was
# installed, "base" and "tail" are added to every generated file, and /run/resolvconf holds
# the per-interface records of the build. The "head" fragment (a "generated, do not edit"
# comment) stays.
for f in /etc/resolvconf/resolv.conf.d/original /etc/resolvconf/resolv.conf.d/base /etc/resolvconf/resolv.conf.d/tail; do
  if [ -f "$chroot$f" ]; then
    file=$(target "$f")
    : > "$file"
  fi
done
rm -f "$chroot/etc/resolvconf/resolv.conf.d/original.dpkg-"*
if [ -d "$chroot/run/resolvconf/interface" ]; then
  find "$chroot/run/resolvconf/interface" -xdev -mindepth 1 -delete
fi

drop_apt_lists
left=$(grep -h '^nameserver' "$resolv_file" "$chroot"/etc/resolvconf/resolv.conf.d/* 2>/dev/null || true)
[ -z "$left" ] || fail "name servers left in the image: $left"
log "removed $bosh_dir/src and /tmp's content; $resolv emptied (link kept), resolvconf fragments emptied"
