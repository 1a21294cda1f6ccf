#!/usr/bin/env bash
# Takes metadata_csum out of the image's ext4 defaults (/etc/mke2fs.conf): Alibaba Cloud's disk tools cannot resize such file systems.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# Deviation: the reference edits the build machine's /etc/mke2fs.conf too, so the ext4 of
# the disk image made on the build machine is created without the feature. stemforge never
# changes the build machine; image_create has to format an alicloud disk with the image's
# defaults instead (MKE2FS_CONFIG=<chroot>/etc/mke2fs.conf) or with -O ^metadata_csum.
# metadata_csum_seed only works with metadata_csum and goes with it.
conf=$(target /etc/mke2fs.conf)
[ -f "$conf" ] || fail "/etc/mke2fs.conf is missing: e2fsprogs must be installed"
tmp=$(mktemp "$conf.XXXXXX")
awk '
  /^[[:space:]]*features[[:space:]]*=/ {
    line = $0
    sub(/=.*/, "= ", line)
    value = $0
    sub(/^[^=]*=[[:space:]]*/, "", value)
    n = split(value, f, ",")
    out = ""
    for (i = 1; i <= n; i++) {
      gsub(/[[:space:]]/, "", f[i])
      if (f[i] == "" || f[i] == "metadata_csum" || f[i] == "metadata_csum_seed") continue
      out = out (out == "" ? "" : ",") f[i]
    }
    print line out
    next
  }
  { print }
' "$conf" > "$tmp"
chmod --reference="$conf" "$tmp"
chown --reference="$conf" "$tmp"
if cmp -s "$tmp" "$conf"; then rm -f "$tmp"; else mv "$tmp" "$conf"; log "metadata_csum removed from /etc/mke2fs.conf"; fi
if grep -Eq '^[[:space:]]*features[[:space:]]*=.*metadata_csum' "$conf"; then fail "/etc/mke2fs.conf still enables metadata_csum"; fi

# The image's own mke2fs makes a small ext4 with these defaults and must leave the feature out.
# shellcheck disable=SC2016 # expanded inside the chroot
features=$(run_in_chroot '
  img=$(mktemp /tmp/stemforge-ext4.XXXXXX)
  trap "rm -f \"\$img\"" EXIT
  mke2fs -q -F -t ext4 "$img" 16M
  dumpe2fs -h "$img" 2>/dev/null | sed -n "s/^Filesystem features:[[:space:]]*//p"
') || fail "the image's mke2fs could not make a test file system"
[ -n "$features" ] || fail "dumpe2fs printed no features"
case " $features " in *' metadata_csum '*) fail "a new ext4 still gets metadata_csum: $features" ;; esac
log "a new ext4 in this image gets: $features"
