# shellcheck shell=bash
# Shared by the stemcell-phase stages (untar_base_os_image … bosh_package_list). Source it
# after the prelude:
#   source "$lib_dir/stemcell.bash"

# The staging directory of the six stemcell files (the packager refuses any other file).
stemcell_dir="$work/stemcell"

# shellcheck source=downloads.bash
source "$lib_dir/downloads.bash"

# assert_nothing_mounted_below DIR: fail if anything is mounted at or below DIR (a chroot
# about to be deleted or replaced must not have /proc, /dev or a cache bound into it).
assert_nothing_mounted_below() {
  local dir mounts
  dir=$(realpath -m -- "$1")
  mounts=$(awk '{ print $5 }' /proc/self/mountinfo |
    while IFS= read -r p; do printf '%b\n' "$p"; done |
    awk -v d="$dir" '$0 == d || index($0, d "/") == 1')
  [ -z "$mounts" ] || fail "still mounted below $dir: $(tr '\n' ' ' <<< "$mounts")"
}

# install_binary SOURCE SHA256 PATH: install the build machine's file SOURCE as PATH of the
# image (root:root 0755), after checking SOURCE against SHA256 and then the copy as well.
install_binary() {
  local src=$1 sha=$2 path=$3 file got
  [ -f "$src" ] || fail "$src is missing on the build machine (run config.sh again)"
  got=$(sha256_of "$src")
  [ "$got" = "$sha" ] || fail "$src has sha256 $got, expected $sha: not installed"
  file=$(target "$path")
  install -o root -g root -m 0755 "$src" "$file.stemforge-new"
  mv -f "$file.stemforge-new" "$file"
  [ "$(sha256_of "$file")" = "$sha" ] || fail "$path in the image differs from $src after the copy"
}

# image_kernel_versions: the kernel versions installed in the image (one per line), from
# /boot/vmlinuz-<version>.
image_kernel_versions() {
  local k
  for k in "$chroot"/boot/vmlinuz-*; do
    [ -f "$k" ] && printf '%s\n' "${k##*/vmlinuz-}"
  done
}

# image_kernel_version: the one kernel version of the image; fails unless there is exactly one.
image_kernel_version() {
  local versions
  versions=$(image_kernel_versions)
  [ -n "$versions" ] || fail "no kernel in the image (/boot/vmlinuz-*): system_kernel must run first"
  [ "$(wc -l <<< "$versions")" = 1 ] || fail "more than one kernel in the image: $(tr '\n' ' ' <<< "$versions")"
  printf '%s\n' "$versions"
}

# The GRUB commands a kernel or initramfs hook could run against the build machine's disks.
# The image stages install GRUB onto the stemcell's own disk; until then these commands are
# held (diverted to a stub) whenever something runs that might call them.
held_bootloader_commands=(/usr/sbin/update-grub /usr/sbin/update-grub2 /usr/sbin/grub-install /usr/sbin/grub-mkconfig)
bootloader_hold_suffix=.stemforge-held

# hold_bootloader_commands: divert the GRUB commands of the image to a stub that only says
# it was called (and records that in /run/stemforge-bootloader-calls).
hold_bootloader_commands() {
  release_bootloader_commands
  # shellcheck disable=SC2016 # expanded inside the chroot
  run_in_chroot "
    stub=\$(cat)
    for c in $(printf '%q ' "${held_bootloader_commands[@]}"); do
      dpkg-divert --quiet --local --rename --divert \"\$c$bootloader_hold_suffix\" --add \"\$c\"
      printf '%s\\n' \"\$stub\" > \"\$c\"
      chmod 0755 \"\$c\"
    done
  " <<'STUB'
#!/bin/sh
# stemforge: held while a kernel or an initramfs is installed; the image stages install GRUB.
echo "stemforge: $0 $* skipped: the image stages install the bootloader" >&2
echo "$0 $*" >> /run/stemforge-bootloader-calls
exit 0
STUB
}

# release_bootloader_commands: undo hold_bootloader_commands (also what an interrupted run
# left behind): remove the stubs and put the real commands back.
release_bootloader_commands() {
  grep -qF -- "$bootloader_hold_suffix" "$chroot/var/lib/dpkg/diversions" 2>/dev/null || return 0
  run_in_chroot "
    for c in $(printf '%q ' "${held_bootloader_commands[@]}"); do
      if [ \"\$(dpkg-divert --truename \"\$c\")\" = \"\$c$bootloader_hold_suffix\" ]; then
        rm -f \"\$c\"
        dpkg-divert --quiet --local --rename --remove \"\$c\"
      fi
    done
  "
}

# bootloader_calls: the GRUB commands that were called while held (empty when none), and
# forget them.
bootloader_calls() {
  local f="$chroot/run/stemforge-bootloader-calls"
  if [ -f "$f" ]; then
    cat "$f"
    rm -f "$f"
  fi
}

# dpkg_installed_packages: "name<TAB>version<TAB>arch<TAB>source<TAB>source version" for
# every package dpkg lists as installed in the image, sorted by name, read from the
# image's dpkg status file (no process runs in the image).
dpkg_installed_packages() {
  awk '
    function flush() {
      if (name != "" && state == "installed") {
        src = (source == "") ? name : source
        srcver = version
        if (match(src, / \(.*\)$/)) { srcver = substr(src, RSTART + 2, RLENGTH - 3); src = substr(src, 1, RSTART - 1) }
        print name "\t" version "\t" arch "\t" src "\t" srcver
      }
      name = ""; version = ""; arch = ""; source = ""; state = ""
    }
    /^$/ { flush(); next }
    /^Package: / { name = substr($0, 10) }
    /^Version: / { version = substr($0, 10) }
    /^Architecture: / { arch = substr($0, 15) }
    /^Source: / { source = substr($0, 9) }
    /^Status: / { state = $NF }
    END { flush() }
  ' "$chroot/var/lib/dpkg/status" | LC_ALL=C sort
}

# write_stemcell_file NAME < content: write NAME into the stemcell staging directory
# atomically; the temp file lives outside it, so an interrupted write leaves no stray file
# that the packager would refuse.
write_stemcell_file() {
  local name=$1 tmp
  mkdir -p "$stemcell_dir"
  tmp=$(mktemp "$work/.$name.XXXXXX")
  cat > "$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$stemcell_dir/$name"
}

# json_validate FILE: fail unless FILE is valid JSON, checked by the image's python3 (or
# perl's JSON::PP), else by the build machine's jq or python3.
json_validate() {
  local file=$1
  if [ -x "$chroot/usr/bin/python3" ]; then
    run_in_chroot 'python3 -m json.tool > /dev/null' < "$file" || fail "$file is not valid JSON (python3 -m json.tool)"
  elif chroot "$chroot" perl -MJSON::PP -e 1 2>/dev/null; then
    run_in_chroot 'perl -MJSON::PP -e "local \$/; JSON::PP->new->decode(<STDIN>)"' < "$file" || fail "$file is not valid JSON (JSON::PP)"
  elif command -v jq >/dev/null 2>&1; then
    jq empty < "$file" || fail "$file is not valid JSON (jq)"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool < "$file" > /dev/null || fail "$file is not valid JSON (python3)"
  else
    fail "no JSON validator: neither the image nor the build machine has python3, JSON::PP or jq"
  fi
}
