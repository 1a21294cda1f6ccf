#!/usr/bin/env bash
# Writes the stemcell's package list (packages.txt, dpkg -l of the image) and its dev tools list (dev_tools_file_list.txt) into work/stemcell.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/stemcell.bash"

dev_tools="$chroot$bosh_etc_dir/dev_tools_file_list"
[ -f "$dev_tools" ] || fail "$bosh_etc_dir/dev_tools_file_list is missing: dev_tools_config must run first"

# dpkg -l as the image's dpkg prints it; wide columns, so no name or version is cut.
list=$(run_in_chroot 'COLUMNS=250 dpkg -l') || fail "dpkg -l failed in the image"
installed=$(dpkg_installed_packages | wc -l)
listed=$(grep -c '^.i ' <<< "$list" || true)
[ "$listed" = "$installed" ] || fail "dpkg -l lists $listed installed packages, the dpkg database has $installed"
write_stemcell_file packages.txt <<< "$list"
write_stemcell_file dev_tools_file_list.txt < "$dev_tools"
assert_no_chroot_processes
log "packages.txt: $installed packages; dev_tools_file_list.txt: $(wc -l < "$dev_tools") files"
