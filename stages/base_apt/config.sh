#!/usr/bin/env bash
# Fixes the archive, security archive and .deb cache the chroot's apt will use.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/apt-sources.bash"

assert_value os_distro
assert_value os_suite
assert_value os_components
persist_package_cache

snapshot=no
if [ -n "${build_time:-}" ] && [ "$mirror" = "${snapshot_mirror%/}/$build_time" ]; then snapshot=yes; fi
persist apt_snapshot "$snapshot"

security=$(resolve_security_mirror "$mirror")
if [ "$snapshot" = yes ] && [ "$(pinned_snapshot "$security" yes)" = no ]; then
  printf '%s: warning: %s\n' "$stage_name" "the security archive $security is not pinned to BUILD_TIME=$build_time" >&2
fi
persist security_uri "$security"
log "archive $mirror${build_time:+ (BUILD_TIME $build_time)}, security archive $security"
