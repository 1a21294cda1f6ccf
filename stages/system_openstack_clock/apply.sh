#!/usr/bin/env bash
# Keeps boot and shutdown from syncing the hardware clock (hwclock): the hypervisor owns it; the RTC is read as UTC.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# As the reference: no hwclock runs from the init scripts. On systemd lines the same goes
# for the hwclock.service unit (masked), and /etc/adjtime says the RTC keeps UTC, which is
# what OpenStack's KVM gives a Linux guest.
if [ -e "$chroot/etc/init.d/hwclock.sh" ]; then
  run_in_chroot 'update-rc.d -f hwclock.sh remove' > /dev/null
fi
run_in_chroot 'rm -f /etc/rc[0-6S].d/[SK][0-9][0-9]hwclock*'
links=("$chroot"/etc/rc[0-6S].d/*hwclock*)
[ "${#links[@]}" -eq 0 ] || fail "hwclock still linked into the boot sequence: ${links[*]//$chroot/}"

if [ "$(chroot "$chroot" readlink -f /lib/systemd/system/hwclock.service)" = /dev/null ]; then
  log "hwclock.service is masked by the distribution"
else
  systemd_unit mask hwclock.service
fi
[ "$(chroot "$chroot" systemctl is-enabled hwclock.service 2>/dev/null || true)" = masked ] || fail "hwclock.service is not masked"

adjtime=$(target /etc/adjtime)
if [ -f "$adjtime" ]; then
  [ "$(wc -l < "$adjtime")" -ge 3 ] || fail "/etc/adjtime is malformed"
  tmp=$(mktemp "$adjtime.XXXXXX")
  awk 'NR == 3 { print "UTC"; next } { print }' "$adjtime" > "$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$adjtime"
else
  printf '0.0 0 0.0\n0\nUTC\n' | write_file 0644 "$adjtime"
fi
[ "$(sed -n 3p "$adjtime")" = UTC ] || fail "/etc/adjtime does not say UTC"
log "no hwclock at boot or shutdown; RTC in UTC"
