#!/usr/bin/env bash
# Fixes the mirror and .deb cache multipath-tools downloads into.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

persist_package_cache
