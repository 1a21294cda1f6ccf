#!/usr/bin/env bash
# Checks the Debian package set and fixes the .deb cache the install downloads into.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

assert_value os_packages
for p in $os_packages; do
  [[ $p =~ ^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$ ]] || fail "os_packages: '$p' is not a package name"
done
persist_package_cache
log "will install: $os_packages"
