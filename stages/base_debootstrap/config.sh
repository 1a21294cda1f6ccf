#!/usr/bin/env bash
# Checks that debootstrap can build this suite here and fixes the mirror and .deb cache it uses.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

assert_available debootstrap unshare chroot
assert_value os_suite
assert_value os_arch
assert_value os_keyring
assert_value os_components

[ -f "$os_keyring" ] || fail "archive keyring $os_keyring is missing on the build machine (debian: apt-get install debian-archive-keyring; ubuntu: apt-get install ubuntu-keyring)"
assert_value debootstrap_script
debootstrap_script_file > /dev/null

persist_package_cache
[[ $mirror =~ ^(https?|ftp|file):// ]] || fail "mirror '$mirror' is not an http(s)://, ftp:// or file:// URL"
log "bootstrapping $os_suite/$os_arch from $mirror with the $debootstrap_script script (package cache $chroot_pkg_cache)"
