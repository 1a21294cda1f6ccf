#!/usr/bin/env bash
# Fixes the archive, security archive and .deb cache the chroot's apt will use.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

assert_value os_distro
assert_value os_suite
assert_value os_components
persist_package_cache

case "$os_distro" in
  debian)
    # Debian serves security updates from a separate archive. --mirror names only the main
    # archive, so the security archive can only come from the build machine's apt sources.
    security_mirror=$(host_security_mirror_for_suite "$os_suite")
    if [ -z "$security_mirror" ]; then
      printf '%s: warning: %s\n' "$stage_name" \
        "security updates are NOT configured: the build machine's apt sources have no '$os_suite-security' entry, and --mirror does not cover the security archive. Add a '$os_suite-security' source to this machine's /etc/apt/sources.list.d/ to get them." >&2
    fi
    ;;
  ubuntu)
    # Ubuntu mirrors carry the -security pocket beside release and -updates.
    security_mirror=$mirror
    ;;
  *)
    fail "unknown os_distro '$os_distro' (expected debian or ubuntu)"
    ;;
esac
persist security_mirror "$security_mirror"
log "archive $mirror, security archive ${security_mirror:-(none)}"
