# shellcheck shell=bash
# Which archives the image's apt uses, and the deb822 file that names them (base_apt).

# resolve_security_mirror ARCHIVE: the archive of the SUITE-security pocket: --security-mirror;
# else where the distribution puts it beside ARCHIVE: Ubuntu's archives carry the pocket
# themselves, Debian's sit in the sibling path debian-security.
resolve_security_mirror() {
  local archive=$1
  if [ -n "${security_mirror:-}" ]; then printf '%s\n' "$security_mirror"; return; fi
  case "$os_distro" in
    ubuntu) printf '%s\n' "$archive" ;;
    debian) debian_security_sibling "$archive" ;;
    *) fail "unknown os_distro '$os_distro' (expected debian or ubuntu)" ;;
  esac
}

# debian_security_sibling ARCHIVE: Debian's security archive beside ARCHIVE, derived by path:
# .../debian → .../debian-security, and a dated snapshot .../debian/STAMP →
# .../debian-security/STAMP (the snapshot service's layout). Any other shape is a mirror we
# cannot place the pocket for: the user names it.
debian_security_sibling() {
  local archive=${1%/} stamp=''
  if [[ $archive =~ /[0-9]{8}T[0-9]{6}Z$ ]]; then
    stamp=${BASH_REMATCH[0]}
    archive=${archive%"$stamp"}
  fi
  [[ $archive =~ ^[a-z]+://[^/]*(/.*)?/debian$ ]] \
    || fail "cannot tell where the $os_suite-security pocket of the archive $1 is (Debian's sits beside an archive path ending in /debian, as /debian-security): pass --security-mirror URL"
  printf '%s-security%s\n' "$archive" "$stamp"
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
    apt_stanza "$security" "$os_suite-security" "$signed_by" "$(pinned_snapshot "$security" "$snapshot")"
  fi
}

# pinned_snapshot URI SNAPSHOT: yes when the build uses a snapshot and URI is dated with its
# BUILD_TIME (a derived security snapshot), whose Release files are just as old.
pinned_snapshot() {
  if [ "$2" = yes ] && [[ ${1%/} == */"${build_time:-}" ]]; then printf yes; else printf no; fi
}

apt_stanza() {
  printf '\nTypes: deb\nURIs: %s\nSuites: %s\nComponents: %s\n' "$1" "$2" "$os_components"
  if [ -n "$3" ]; then printf 'Signed-By: %s\n' "$3"; fi
  if [ "$4" = yes ]; then printf 'Check-Valid-Until: no\n'; fi
}
