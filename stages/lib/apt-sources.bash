# shellcheck shell=bash
# Which archives the image's apt uses, and the deb822 file that names them (base_apt).

# resolve_security_mirror ARCHIVE: the security archive, in this order: --security-mirror;
# Ubuntu: ARCHIVE itself (Ubuntu archives and snapshots carry the -security pocket);
# Debian: the build machine's own apt source for SUITE-security; else nothing.
resolve_security_mirror() {
  local archive=$1
  if [ -n "${security_mirror:-}" ]; then printf '%s\n' "$security_mirror"; return; fi
  case "$os_distro" in
    ubuntu) printf '%s\n' "$archive" ;;
    debian) host_security_mirror_for_suite "$os_suite" ;;
    *) fail "unknown os_distro '$os_distro' (expected debian or ubuntu)" ;;
  esac
}

# render_apt_sources ARCHIVE SECURITY SNAPSHOT: the deb822 sources on stdout. ARCHIVE serves
# SUITE and SUITE-updates, SECURITY serves SUITE-security (same URI: one stanza for all three
# pockets). SNAPSHOT=yes marks ARCHIVE as a dated snapshot, whose Release files are past
# their Valid-Until by design.
render_apt_sources() {
  local archive=$1 security=$2 snapshot=$3 signed_by=''
  if [ -f "$chroot$os_keyring" ]; then signed_by=$os_keyring; fi
  printf '# Written by stemforge (base_apt).\n'
  if [ "$archive" = "$security" ]; then
    apt_stanza "$archive" "$os_suite $os_suite-updates $os_suite-security" "$signed_by" "$snapshot"
  else
    apt_stanza "$archive" "$os_suite $os_suite-updates" "$signed_by" "$snapshot"
    if [ -n "$security" ]; then apt_stanza "$security" "$os_suite-security" "$signed_by" no; fi
  fi
}

apt_stanza() {
  printf '\nTypes: deb\nURIs: %s\nSuites: %s\nComponents: %s\n' "$1" "$2" "$os_components"
  if [ -n "$3" ]; then printf 'Signed-By: %s\n' "$3"; fi
  if [ "$4" = yes ]; then printf 'Check-Valid-Until: no\n'; fi
}
