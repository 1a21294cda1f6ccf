#!/usr/bin/env bash
# Makes the stemcell's root (work/chroot) a fresh copy of the OS image, extracted once per image and shared by the stemcells of a run.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/stemcell.bash"
source "$lib_dir/compression.bash"

[ -f "$os_image_tgz" ] || fail "the OS image $os_image_tgz is missing on the build machine"

# The extracted image, next to the tarball. Its identity (size, mtime, inode of the tarball
# it came from) is kept beside it: a new tarball under the same name is extracted again.
rootfs="${os_image_tgz%.tgz}.rootfs"
source_stamp="$rootfs.source"
identity=$(stat -c '%s %Y %i' "$os_image_tgz")

z=$(gzip_program)

# One lock per image: extracting takes it exclusively, copying from the extracted image
# shares it, so a build of another stemcell never copies a half-replaced root.
exec 9> "$rootfs.lock"
flock --exclusive 9
if [ -d "$rootfs" ] && [ "$(cat "$source_stamp" 2>/dev/null)" = "$identity" ]; then
  log "reusing the extracted image $rootfs"
else
  # Leftovers of an extraction that was interrupted (ours: we hold the lock).
  for old in "$rootfs".tmp.* "$rootfs".old.*; do
    [ -d "$old" ] || continue
    assert_nothing_mounted_below "$old"
    rm -rf --one-file-system "$old"
  done
  started=$SECONDS
  tmp=$(mktemp -d "$rootfs.tmp.XXXXXX")
  tar --numeric-owner --same-owner --same-permissions -I "$z" -xf "$os_image_tgz" -C "$tmp" \
    || fail "cannot extract $os_image_tgz"
  [[ -f "$tmp/etc/os-release" && -e "$tmp/bin/sh" && -f "$tmp/var/lib/dpkg/status" ]] \
    || fail "$os_image_tgz is not an OS image (no etc/os-release, bin/sh or dpkg status at its top)"
  grep -qx "VERSION_CODENAME=$os_suite" "$tmp/etc/os-release" \
    || fail "$os_image_tgz is not a $os_name image: $(grep -E '^(ID|VERSION_CODENAME)=' "$tmp/etc/os-release" | tr '\n' ' ')"
  assert_image_architecture "$tmp"
  rm -f "$source_stamp"
  if [ -e "$rootfs" ]; then
    assert_nothing_mounted_below "$rootfs"
    mv "$rootfs" "$rootfs.old.$$"
    rm -rf --one-file-system "$rootfs.old.$$"
  fi
  mv "$tmp" "$rootfs"
  printf '%s\n' "$identity" > "$source_stamp"
  log "extracted $os_image_tgz to $rootfs in $((SECONDS - started))s"
fi
flock --shared 9

# A fresh chroot: whatever an earlier run made of it goes (nothing may be mounted in it).
# The work folder itself may be a mount: the stage's layer (stages/lib/layers.bash).
assert_nothing_mounted_below "$chroot"
assert_no_chroot_processes
if [ -e "$chroot" ]; then rm -rf --one-file-system "$chroot"; fi
for old in "$chroot".tmp.*; do
  [ -d "$old" ] || continue
  rm -rf --one-file-system "$old"
done
mkdir -p "$work" "$stemcell_dir"
started=$SECONDS
tmp=$(mktemp -d "$chroot.tmp.XXXXXX")
# Copies, not hard links: later stages edit files in place.
cp -a "$rootfs/." "$tmp/"
mv "$tmp" "$chroot"
exec 9>&-
log "copied the image to $chroot in $((SECONDS - started))s"

# Name resolution for the package installs of the following stages: the build machine's
# resolver configuration, written where the image's /etc/resolv.conf leads (resolvconf
# makes it a link into /run), so the link stays. bosh_clean empties it again.
[ -r /etc/resolv.conf ] || fail "the build machine has no /etc/resolv.conf"
resolv=/etc/resolv.conf
if [ -L "$chroot/etc/resolv.conf" ]; then
  resolv=$(chroot "$chroot" /usr/bin/realpath -m /etc/resolv.conf) || fail "cannot resolve /etc/resolv.conf in the image"
fi
resolv_file=$(target "$resolv")
mkdir -p "$(dirname "$resolv_file")"
write_file 0644 "$resolv_file" < /etc/resolv.conf
if [ "$resolv" = /etc/resolv.conf ]; then
  log "/etc/resolv.conf: the build machine's ($(grep -c '^nameserver' "$resolv_file") nameserver lines)"
else
  log "/etc/resolv.conf -> $resolv: the build machine's ($(grep -c '^nameserver' "$resolv_file") nameserver lines)"
fi
