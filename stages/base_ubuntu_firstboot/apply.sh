#!/usr/bin/env bash
# Installs the first-boot hook that gives each VM its own SSH host keys and sysstat setup.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/firstboot.bash"

install_firstboot
