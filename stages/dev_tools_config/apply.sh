#!/usr/bin/env bash
# Lists every file of the image's compiler and build-tool packages in /var/vcap/bosh/etc/dev_tools_file_list, which the agent deletes when a deployment sets remove_dev_tools.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/stemcell.bash"

# The packages that compile, assemble, link or generate code, by name pattern (bash
# patterns): compilers and their drivers, binutils, build systems, parser generators,
# Debian's package-building tools. -dev packages are not listed: their headers do nothing
# at run time, but their unversioned .so links are what programs that dlopen a library by
# its plain name find, so deleting them could break jobs.
patterns=(
  'gcc' 'gcc-[0-9]*' 'g++' 'g++-[0-9]*' 'cpp' 'cpp-[0-9]*'
  'clang' 'clang-[0-9]*' 'llvm' 'llvm-[0-9]*' 'lld' 'lld-[0-9]*' 'gfortran' 'gfortran-[0-9]*'
  'binutils' 'binutils-common' 'binutils-x86-64-linux-gnu' 'binutils-aarch64-linux-gnu'
  'make' 'cmake' 'cmake-data' 'ninja-build' 'autoconf' 'automake' 'autotools-dev' 'libtool' 'libtool-bin'
  'bison' 'flex' 'm4' 'pkgconf' 'pkgconf-bin' 'pkg-config'
  'dpkg-dev' 'build-essential' 'debhelper' 'dh-autoreconf' 'dh-strip-nondeterminism' 'dwz'
  'module-assistant'
)

matches() {
  local p
  # gcc-12-base and the like hold only documents every C++ program's runtime depends on
  [[ $1 == *-base ]] && return 1
  for p in "${patterns[@]}"; do
    # shellcheck disable=SC2053 # a pattern on purpose
    [[ $1 == $p ]] && return 0
  done
  return 1
}

packages=()
while IFS=$'\t' read -r name _; do
  if matches "$name"; then packages+=("$name"); fi
done < <(dpkg_installed_packages)
[ "${#packages[@]}" -gt 0 ] || fail "no compiler or build-tool package in the image (gcc is part of every line's package set)"

# dpkg's file lists of those packages, reduced to what exists in the image and is not a
# directory (directories are shared with other packages). Checked inside the image, so
# absolute symlinks resolve there and not on the build machine.
list=$(run_in_chroot "
  for p in $(printf '%q ' "${packages[@]}"); do dpkg-query -L \"\$p\"; done | LC_ALL=C sort -u |
    while IFS= read -r f; do
      if [ -L \"\$f\" ] || { [ -e \"\$f\" ] && [ ! -d \"\$f\" ]; }; then printf '%s\n' \"\$f\"; fi
    done
") || fail "cannot read the file lists of ${packages[*]}"
[ -n "$list" ] || fail "the dev tool packages own no files"
grep -qx '/usr/bin/gcc' <<< "$list" || fail "/usr/bin/gcc is not in the list: is gcc installed?"

ensure_bosh_dirs
out=$(target "$bosh_etc_dir/dev_tools_file_list")
write_file 0644 "$out" <<< "$list"
log "$bosh_etc_dir/dev_tools_file_list: $(wc -l <<< "$list") files of ${#packages[@]} packages (${packages[*]})"
