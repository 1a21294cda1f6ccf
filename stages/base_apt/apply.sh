#!/usr/bin/env bash
# Points the chroot's apt at the chosen archives only, sets lean apt defaults and upgrades every package.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/apt-sources.bash"

sources_dir="$chroot/etc/apt/sources.list.d"
our_sources="$sources_dir/$os_distro.sources"
render_apt_sources "$mirror" "$security_uri" "$apt_snapshot" | write_file 0644 "$our_sources"

# Only our entries: drop debootstrap's sources.list and anything else.
rm -f "$chroot/etc/apt/sources.list"
for f in "$sources_dir"/*.list "$sources_dir"/*.sources; do
  if [ "$f" != "$our_sources" ]; then
    log "removing other apt source ${f#"$chroot"}"
    rm -f "$f"
  fi
done
log "apt sources:"
sed 's/^/    /' "$our_sources"

write_file 0644 "$chroot/etc/apt/apt.conf.d/90stemforge" <<'APTCONF'
// Written by stemforge (base_apt): install only what is asked for.
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Retries "3";
APTCONF

# chroot_pkg_cache (from config.sh) is bound over /var/cache/apt/archives, so downloads
# land in the build machine's cache and are reused by the next build.
run_in_chroot "
  apt-get update -q
  apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade
  rm -rf /var/lib/apt/lists/*
"
drop_apt_lists
assert_no_chroot_processes
log "packages upgraded"
