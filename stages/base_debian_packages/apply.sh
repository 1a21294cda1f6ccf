#!/usr/bin/env bash
# Installs the stemcell's Debian package set (os_packages) into the chroot without recommends.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

read -r -a packages <<< "$os_packages"
[ "${#packages[@]}" -gt 0 ] || fail "os_packages is empty"

log "installing ${#packages[@]} packages: ${packages[*]}"
pkg_install "${packages[@]}"

# run_in_chroot's policy-rc.d keeps daemons from starting and its pid namespace ends
# whatever was started anyway; check both held, and that no package lists stayed.
assert_no_chroot_processes
drop_apt_lists
if [ -e "$chroot/usr/sbin/policy-rc.d" ]; then fail "a policy-rc.d was left in the chroot"; fi

missing=()
for p in "${packages[@]}"; do
  # shellcheck disable=SC2016 # ${db:Status-Status} is a dpkg-query format field
  status=$(chroot "$chroot" dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || status=absent
  if [ "$status" != installed ]; then missing+=("$p"); fi
done
[ "${#missing[@]}" -eq 0 ] || fail "not installed after apt-get: ${missing[*]}"
log "installed: ${packages[*]}"
