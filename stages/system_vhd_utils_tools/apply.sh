#!/usr/bin/env bash
# Checks that vhd-util on the build machine works on a VHD, for cloudstack's packaging (nothing in the image changes).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

if [ -z "${vhd_util_path:-}" ] || [ ! -x "$vhd_util_path" ]; then fail "vhd-util is not installed on the build machine (see config.sh)"; fi
assert_available qemu-img
dir=$(mktemp -d "$work/vhd-util-check.XXXXXX")
trap 'rm -rf "$dir"' EXIT
qemu-img create -q -f vpc -o subformat=dynamic "$dir/check.vhd" 16M
"$vhd_util_path" check -n "$dir/check.vhd" || fail "$vhd_util_path does not accept a VHD made by qemu-img"
log "vhd-util: $vhd_util_path"
