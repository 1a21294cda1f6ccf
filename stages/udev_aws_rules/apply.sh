#!/usr/bin/env bash
# Gives NVMe EBS volumes their attachment names (/dev/sdf, /dev/xvdf) with a udev rule and /usr/sbin/ebs-nvme-id.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# The helper reads the name with the image's nvme-cli instead of the reference's own
# ioctl program (/sbin/nvme-id); the rule and the names it makes are the same.
[ -x "$chroot/usr/sbin/nvme" ] || fail "nvme-cli is missing from the image (it is in the OS package set)"
helper=/usr/sbin/ebs-nvme-id
rules=/etc/udev/rules.d/70-ec2-nvme-devices.rules
file=$(target "$helper")
write_file 0755 "$file" < "$assets_dir/ebs-nvme-id"
file=$(target "$rules")
write_file 0644 "$file" < "$assets_dir/70-ec2-nvme-devices.rules"

run_in_chroot "sh -n $helper" || fail "$helper has a syntax error"
if chroot "$chroot" udevadm verify --help > /dev/null 2>&1; then
  run_in_chroot "udevadm verify --no-style $rules" || fail "udevadm rejects $rules"
fi

# The helper itself, against a stand-in nvme that prints identify data the way EBS fills
# it: with and without /dev/, padded with spaces or NULs, and for a partition.
# shellcheck disable=SC2016 # expanded inside the chroot
run_in_chroot '
  dir=$(mktemp -d /tmp/stemforge-ebs.XXXXXX)
  trap "rm -rf \"\$dir\"" EXIT
  cat > "$dir/nvme" <<"STUB"
#!/bin/sh
[ "$1" = id-ctrl ] && [ "$2" = --raw-binary ] && [ "$3" = /dev/nvme1n1 ] || { echo "unexpected: $*" >&2; exit 1; }
head -c 3072 /dev/zero
if [ "${EBS_PAD:-}" = nul ]; then
  printf "%s" "$EBS_NAME"; head -c $((32 - ${#EBS_NAME})) /dev/zero
else
  printf "%-32s" "$EBS_NAME"
fi
head -c 992 /dev/zero
STUB
  chmod 0755 "$dir/nvme"
  check() {
    got=$(PATH="$dir:$PATH" EBS_NAME="$1" EBS_PAD="${4:-}" /usr/sbin/ebs-nvme-id "$2")
    [ "$got" = "$3" ] || { echo "ebs-nvme-id $2 with \"$1\" printed \"$got\", expected \"$3\"" >&2; exit 1; }
  }
  check sdf /dev/nvme1n1 sdf
  check /dev/xvdba /dev/nvme1n1 xvdba
  check xvdf /dev/nvme1n1p2 xvdf
  check sdh /dev/nvme1n1 sdh nul
  if PATH="$dir:$PATH" EBS_NAME="" /usr/sbin/ebs-nvme-id /dev/nvme1n1 2>/dev/null; then
    echo "ebs-nvme-id accepted an empty name" >&2; exit 1
  fi
' || fail "$helper does not read the EBS device name correctly"
log "$rules and $helper installed and tested against sample identify data"
