#!/usr/bin/env bash
# Fixes the mirror and .deb cache the Xen guest utilities download into.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

persist_package_cache
