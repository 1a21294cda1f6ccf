#!/usr/bin/env bash
# Installs build-essential and clang, with debconf set to never ask.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/build-essential.bash"

install_build_essential
