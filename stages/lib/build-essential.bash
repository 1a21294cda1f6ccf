# shellcheck shell=bash
# base_*_build_essential: the compilers BOSH packages expect on the stemcell. Sourced by them.

build_essential_packages=(build-essential clang)

install_build_essential() {
  # debconf must never stop the build with a question.
  printf 'debconf debconf/frontend select Noninteractive\n' | run_in_chroot 'debconf-set-selections'
  pkg_install "${build_essential_packages[@]}"
  drop_apt_lists
  assert_no_chroot_processes
  local tool
  for tool in gcc g++ make clang; do
    chroot "$chroot" /usr/bin/env -i PATH=/usr/bin:/bin "$tool" --version >/dev/null || fail "$tool does not run in the image"
  done
  log "build-essential and clang installed ($(chroot "$chroot" /usr/bin/env -i PATH=/usr/bin:/bin gcc -dumpfullversion))"
}
