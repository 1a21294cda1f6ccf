#!/usr/bin/env bash
# Checks the Debian package set and fixes the .deb cache the install downloads into.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/packages.bash"

check_package_settings
