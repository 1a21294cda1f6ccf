#!/usr/bin/env bash
# Empties /etc/machine-id so every VM made from the image generates its own on first boot.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

[ -d "$chroot/etc" ] || fail "no chroot at $chroot"
# An empty (not missing) file: systemd then writes a fresh id at boot, also on a read-only
# root; a missing one would make it treat the boot as a first boot with presets applied.
rm -f "$chroot/etc/machine-id"
install -o root -g root -m 0444 /dev/null "$chroot/etc/machine-id"
# dbus's copy (often a link to /etc/machine-id) would otherwise keep an old id.
rm -f "$chroot/var/lib/dbus/machine-id"
log "/etc/machine-id emptied, /var/lib/dbus/machine-id removed"
