#!/usr/bin/env bash
# Installs the XenServer guest utilities (xe-daemon reports the VM's addresses and state to the host) from the release's archive.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

# Deviation: the reference builds xe-guest-utilities 7.30.0 from its GitHub sources with Go
# on the build machine. Neither is reachable here; the release's own package is used when
# its archive has one (Ubuntu's universe does), and the stage fails when it has none
# (Debian dropped the package).
pkg=$(first_available_package xe-guest-utilities) || fail "apt-get update failed in the image"
if [ -z "$pkg" ]; then
  drop_apt_lists
  fail "xe-guest-utilities is missing: the ${os_distro:-}/${os_suite:-} archive has no package of it, and its sources (the xenserver/xe-guest-utilities project) cannot be fetched here; a CloudStack/XenServer stemcell of this line needs a way to supply a built .deb"
fi
install_packages "$pkg"
unit=$(chroot "$chroot" dpkg-query -L "$pkg" | awk -F/ '/\/systemd\/system\/[^/]+\.service$/ && !found { found = $NF } END { print found }')
[ -n "$unit" ] || fail "$pkg ships no systemd service"
chroot "$chroot" systemctl is-enabled --quiet "$unit" || systemd_unit enable "$unit"
chroot "$chroot" systemctl is-enabled --quiet "$unit" || fail "$unit is not enabled"
log "$pkg $(package_version "$pkg") installed; $unit enabled"
