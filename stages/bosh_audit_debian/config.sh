#!/usr/bin/env bash
# Fixes the archive and the build machine's .deb cache that auditd is installed from.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

persist_package_cache
