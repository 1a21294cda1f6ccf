#!/usr/bin/env bash
# Fixes the mirror and .deb cache the GRUB install downloads into.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

persist_package_cache
assert_value grub_packages
assert_value grub_platforms
