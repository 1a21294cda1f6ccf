# shellcheck shell=bash
# The package-set stages (base_debian_packages, base_ubuntu_packages). Sourced by them.

# check_package_settings: from config.sh, validate os_packages/os_purge_packages and fix the
# mirror and .deb cache the install downloads into.
check_package_settings() {
  local p
  assert_value os_packages
  for p in $os_packages ${os_purge_packages:-}; do
    [[ $p =~ ^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$ ]] || fail "'$p' is not a package name"
  done
  persist_package_cache
  log "will install: $os_packages"
  log "will remove when present: ${os_purge_packages:-(nothing)}"
}

# install_package_set: install os_packages, then purge os_purge_packages, and check the
# result: every wanted package installed, every purged one gone, no daemon left running.
install_package_set() {
  local packages purge missing=() present=() p
  read -r -a packages <<< "$os_packages"
  read -r -a purge <<< "${os_purge_packages:-}"
  [ "${#packages[@]}" -gt 0 ] || fail "os_packages is empty"

  log "installing ${#packages[@]} packages"
  pkg_install "${packages[@]}"
  if [ "${#purge[@]}" -gt 0 ]; then pkg_purge "${purge[@]}"; fi
  run_in_chroot 'apt-get autoremove -y -q --purge'

  # run_in_chroot's policy-rc.d keeps daemons from starting and its pid namespace ends
  # whatever was started anyway; check both held, and that no package lists stayed.
  assert_no_chroot_processes
  drop_apt_lists
  if [ -e "$chroot/usr/sbin/policy-rc.d" ]; then fail "a policy-rc.d was left in the chroot"; fi

  for p in "${packages[@]}"; do
    [ "$(package_status "$p")" = installed ] || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] || fail "not installed after apt-get: ${missing[*]}"
  for p in "${purge[@]}"; do
    case "$(package_status "$p")" in absent | not-installed | config-files) ;; *) present+=("$p") ;; esac
  done
  [ "${#present[@]}" -eq 0 ] || fail "still installed after the purge: ${present[*]}"
  log "installed ${#packages[@]} packages; $(chroot "$chroot" dpkg-query -W -f='.\n' | wc -l) in the image"
}

# package_status NAME: dpkg's status word for NAME in the chroot, or "absent".
package_status() {
  # shellcheck disable=SC2016 # ${db:Status-Status} is a dpkg-query format field
  chroot "$chroot" dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || printf 'absent'
}
