#!/usr/bin/env bash
# Closes /tmp and /var/tmp to everyone but root and group vcap (0770 root:vcap), in the image and at every boot.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/hardening.bash"

# The reference sets mode 0770 on both. The group is vcap, as the BOSH agent sets /tmp at
# boot: vcap's processes (the jobs, an operator's bosh ssh session) keep their temp space;
# no other account may use or even list them.
chroot "$chroot" getent group vcap >/dev/null || fail "group vcap is missing: bosh_users must have run in the OS image"
for d in /tmp /var/tmp; do
  dir=$(target "$d/.")
  dir=${dir%/.}
  [[ -d "$dir" && ! -L "$dir" ]] || fail "$d is not a directory in the image"
  chroot "$chroot" chown root:vcap "$d"
  chmod 0770 "$dir"
done

# systemd-tmpfiles sets /tmp to 1777 root:root at every boot (tmpfiles.d/tmp.conf of the
# systemd package). A file of the same name in /etc replaces it: the same rules (/tmp
# emptied at boot, /var/tmp kept) with our mode and group.
conf=$(target /etc/tmpfiles.d/tmp.conf)
install_if_changed 0644 "$conf" <<'EOF2'
# Written by stemforge (bosh_harden): replaces systemd's tmpfiles.d/tmp.conf. /tmp is
# emptied at boot as before; both temp directories are 0770 root:vcap (no sticky bit: only
# root and vcap may use them).
D /tmp 0770 root vcap -
d /var/tmp 0770 root vcap -
EOF2
out=$(run_in_chroot 'systemd-tmpfiles --cat-config 2>/dev/null') || fail "systemd-tmpfiles cannot read its configuration"
grep -qx 'D /tmp 0770 root vcap -' <<< "$out" || fail "systemd-tmpfiles does not use /etc/tmpfiles.d/tmp.conf"
for d in /tmp /var/tmp; do
  got=$(chroot "$chroot" stat -c '%a %U:%G' "$d")
  [ "$got" = '770 root:vcap' ] || fail "$d is $got, not 770 root:vcap"
done
log "/tmp and /var/tmp: 0770 root:vcap, kept at boot by /etc/tmpfiles.d/tmp.conf"
