#!/usr/bin/env bash
# Points the chroot's apt at the chosen archives only, sets lean apt defaults and upgrades every package.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

sources_dir="$chroot/etc/apt/sources.list.d"
our_sources="$sources_dir/$os_distro.sources"

signed_by=''
if [ -f "$chroot$os_keyring" ]; then signed_by="Signed-By: $os_keyring"; fi

# stanza URI SUITES: one deb822 source entry.
stanza() {
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n' "$1" "$2" "$os_components"
  if [ -n "$signed_by" ]; then printf '%s\n' "$signed_by"; fi
  printf '\n'
}

case "$os_distro" in
  debian)
    {
      printf '# Written by stemforge (base_apt).\n\n'
      stanza "$mirror" "$os_suite $os_suite-updates"
      if [ -n "$security_mirror" ]; then stanza "$security_mirror" "$os_suite-security"; fi
    } | write_file 0644 "$our_sources"
    if [ -z "$security_mirror" ]; then
      printf '%s: warning: no %s-security archive configured: the image gets no security updates\n' "$stage_name" "$os_suite" >&2
    fi
    ;;
  ubuntu)
    if [ -n "${build_time:-}" ]; then
      # A dated snapshot is not derived from build_time yet: the mirror is used as given,
      # so pass a snapshot archive URL as --mirror for a reproducible build.
      log "build_time=$build_time: using the mirror as given ($mirror)"
    fi
    {
      printf '# Written by stemforge (base_apt).\n\n'
      stanza "$mirror" "$os_suite $os_suite-updates $os_suite-security"
    } | write_file 0644 "$our_sources"
    ;;
  *)
    fail "unknown os_distro '$os_distro'"
    ;;
esac

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
