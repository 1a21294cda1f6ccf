#!/usr/bin/env bash
# Checks that the build machine has vhd-util, which cloudstack's VHD packaging uses; stops the build early when it does not.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# Deviation: the reference installs build dependencies on the build machine and compiles
# vhd-util from the rubiojr/vhd-util-convert sources there. stemforge does not change the
# build machine, and that source is not reachable; the tool has to be there already.
command -v vhd-util > /dev/null 2>&1 \
  || fail "vhd-util is not installed on the build machine: the cloudstack packaging converts and checks the VHD with it (build it from rubiojr/vhd-util-convert or Citrix blktap and put it on root's PATH); no distribution packages it"
persist vhd_util_path "$(command -v vhd-util)"
