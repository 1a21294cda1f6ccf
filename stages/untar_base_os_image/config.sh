#!/usr/bin/env bash
# Checks that the OS image tarball the stemcell is built from is there and readable.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

assert_value os_image_tgz
case "$os_image_tgz" in
  /*.tgz) ;;
  *) fail "os_image_tgz must be an absolute path ending in .tgz, not '$os_image_tgz'" ;;
esac
[[ -f "$os_image_tgz" && -r "$os_image_tgz" ]] || fail "the OS image $os_image_tgz is missing on the build machine"
assert_available tar gzip flock
log "OS image: $os_image_tgz ($(stat -c %s "$os_image_tgz") bytes)"
