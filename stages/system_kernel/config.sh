#!/usr/bin/env bash
# Checks the kernel package names and fixes the mirror and .deb cache the kernel is installed from.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

assert_value kernel_packages
read -r -a packages <<< "$kernel_packages"
for p in "${packages[@]}"; do
  [[ $p =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || fail "'$p' in kernel_packages is not a package name"
done
persist_package_cache
log "will install: $kernel_packages initramfs-tools"
