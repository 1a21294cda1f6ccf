# shellcheck shell=bash
# Small helpers shared by the stages. Sourced by prelude.bash.

log() { printf '%s: %s\n' "$stage_name" "$*"; }

fail() {
  printf '%s: error: %s\n' "$stage_name" "$*" >&2
  exit 1
}

# persist KEY VALUE: from config.sh, hand a derived value to this stage's apply.sh.
persist() {
  local key=$1 value=$2
  [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail "persist: bad key '$key'"
  printf '%s=%q\n' "$key" "$value" >> "$stage_settings_file"
  printf -v "$key" '%s' "$value"
}

assert_available() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || fail "'$cmd' is not installed on the build machine (install it, e.g. apt-get install $cmd)"
  done
}

assert_value() {
  local name=$1
  [ -n "${!name:-}" ] || fail "setting '$name' is empty"
}

# set_config_line FILE KEY VALUE: make exactly one active "KEY VALUE" line in a
# space-separated config file (sshd_config style), replacing commented or older ones.
set_config_line() {
  local file=$1 key=$2 value=$3 tmp
  tmp=$(mktemp "$file.XXXXXX")
  awk -v key="$key" -v line="$key $value" '
    BEGIN { done = 0 }
    {
      probe = $0
      sub(/^[[:space:]]*#?[[:space:]]*/, "", probe)
      split(probe, words, /[[:space:]]+/)
      if (tolower(words[1]) == tolower(key)) {
        if (!done) { print line; done = 1 }
        next
      }
      print
    }
    END { if (!done) print line }
  ' "$file" > "$tmp"
  chmod --reference="$file" "$tmp"
  chown --reference="$file" "$tmp"
  mv "$tmp" "$file"
}

# write_file MODE PATH < content: replace a file atomically with the given mode. A PATH in
# the chroot is checked with target first, so no symlink carries the write out of the image.
write_file() {
  local mode=$1 path=$2 tmp
  case "$path" in "$chroot"/*) target "${path#"$chroot"}" > /dev/null ;; esac
  mkdir -p "$(dirname "$path")"
  tmp=$(mktemp "$path.XXXXXX")
  cat > "$tmp"
  chmod "$mode" "$tmp"
  mv "$tmp" "$path"
}

# target PATH: print "$chroot$PATH" to write PATH of the image from the build machine, after
# checking that no directory on the way is a symlink leading elsewhere than it would inside
# the image. An absolute link (Debian's /etc/service ends in one) is resolved by the build
# machine against its own root: writing through it would change the build machine.
target() {
  local p=$1 dir outside inside
  dir=$(dirname "$p")
  outside=$(realpath -m -- "$chroot$dir")
  inside=$(chroot "$chroot" /usr/bin/realpath -m -- "$dir") || fail "target: cannot resolve $dir in the image"
  [ "$outside" = "$(realpath -- "$chroot")${inside%/}" ] \
    || fail "$dir leads out of the image through an absolute symlink (to $inside); write $p from inside the chroot"
  printf '%s%s\n' "$chroot" "$p"
}

# debootstrap_dir: where the build machine's debootstrap keeps its suite scripts (debootstrap
# itself honours DEBOOTSTRAP_DIR too, so both always read the same scripts).
debootstrap_dir() {
  printf '%s\n' "${DEBOOTSTRAP_DIR:-/usr/share/debootstrap}"
}

# debootstrap_script_file: the OS line's debootstrap script (debootstrap_script) on the build
# machine. Named explicitly because an older debootstrap may lack the suite's own link (Debian
# 12's has no 'noble'), while every suite of a line is built by its one script.
debootstrap_script_file() {
  local file
  assert_value debootstrap_script
  file="$(debootstrap_dir)/scripts/$debootstrap_script"
  [ -f "$file" ] || fail "the build machine's debootstrap has no '$debootstrap_script' script ($file), which builds $os_name: install or upgrade the debootstrap package there (apt-get install debootstrap)"
  printf '%s\n' "$file"
}

# debootstrap_builtin_mirror: the archive debootstrap falls back to when a suite script names
# none (Debian's): the DEF_MIRROR assignment in the build machine's debootstrap program.
debootstrap_builtin_mirror() {
  local program
  program=$(command -v debootstrap) || fail "'debootstrap' is not installed on the build machine (install it, e.g. apt-get install debootstrap)"
  sed -n 's/^DEF_MIRROR=["'"'"']\{0,1\}\([^"'"'"']*\)["'"'"']\{0,1\}[[:space:]]*$/\1/p' "$program" | head -n 1
}

# debootstrap_default_mirror: the archive debootstrap itself would use for os_suite/os_arch with
# the line's script, learnt before debootstrap runs so the package cache and the later apt
# stages can name it.
debootstrap_default_mirror() {
  local script builtin
  # "|| exit": a command substitution does not inherit errexit, and fail has said why
  script=$(debootstrap_script_file) || exit 1
  builtin=$(debootstrap_builtin_mirror) || exit 1
  suite_script_mirror "$script" "$builtin"
}

# suite_script_mirror SCRIPT BUILTIN: source a debootstrap suite script in a subshell, with
# debootstrap's directives as functions and ARCH/SUITE set as debootstrap sets them, and print
# the archive its default_mirror call chose (BUILTIN when it makes none). Nothing but that URL
# leaves the subshell.
# shellcheck disable=SC2034,SC2317 # the variables and functions are the script's interface: it reads and calls them
suite_script_mirror() (
  set +euo pipefail
  DEBOOTSTRAP_DIR=$(debootstrap_dir) ARCH=$os_arch SUITE=$os_suite CODENAME=$os_suite VARIANT=${debootstrap_variant:-} DEF_MIRROR=$2
  default_mirror() { DEF_MIRROR=$1; }
  doing_variant() { [ "$1" = "${VARIANT:--}" ]; }
  # every other directive or helper a script may call (keyring, variants, error...) does nothing here
  command_not_found_handle() { return 0; }
  mirror_style() { :; }
  download_style() { :; }
  finddebs_style() { :; }
  variants() { :; }
  keyring() { :; }
  force_md5() { :; }
  error() { :; }
  warning() { :; }
  info() { :; }
  # shellcheck source=/dev/null
  . "$1" > /dev/null 2>&1 < /dev/null
  printf '%s\n' "${DEF_MIRROR%/}"
)

# resolve_mirror: the archive to build from, in this order: the user's --mirror; with
# BUILD_TIME, the dated snapshot <snapshot_mirror>/<BUILD_TIME>; else the archive debootstrap
# itself uses for this suite (stemforge names no archive of its own).
resolve_mirror() {
  local m
  if [ -n "${mirror:-}" ]; then printf '%s\n' "$mirror"; return; fi
  if [ -n "${build_time:-}" ]; then
    [ -n "${snapshot_mirror:-}" ] || fail "BUILD_TIME=$build_time asks for a dated snapshot archive: pass --snapshot-mirror URL (stemforge appends /$build_time), or --mirror URL to use an archive as it is"
    printf '%s/%s\n' "${snapshot_mirror%/}" "$build_time"
    return
  fi
  m=$(debootstrap_default_mirror) || exit 1
  [ -n "$m" ] || fail "the build machine's debootstrap names no default archive for $os_suite ($debootstrap_script script): pass --mirror URL"
  printf '%s\n' "$m"
}

# debootstrap_command_args: debootstrap's arguments for this build, one per line: the options,
# then SUITE TARGET MIRROR SCRIPT. The script is always named (debootstrap finds it in its
# scripts folder, checked here first), so the command is the same whether or not this
# debootstrap has a script of the suite's name.
debootstrap_command_args() {
  debootstrap_script_file > /dev/null || exit 1
  printf '%s\n' --arch="$os_arch" --keyring="$os_keyring" --components="${os_components// /,}" --cache-dir="$chroot_pkg_cache"
  # another architecture's packages are unpacked here and configured by their own programs,
  # under emulation, in a second stage inside the chroot (base_debootstrap)
  if image_is_foreign; then printf '%s\n' --foreign; fi
  if [ -n "${debootstrap_variant:-}" ]; then printf '%s\n' --variant="$debootstrap_variant"; fi
  if [ -n "${debootstrap_include:-}" ]; then printf '%s\n' --include="$debootstrap_include"; fi
  printf '%s\n' "$os_suite" "$chroot" "$mirror" "$debootstrap_script"
}

# with_package_cache_lock CMD...: run CMD holding the lock of chroot_pkg_cache (when set).
# Builds on one machine share that .deb cache and apt locks it while it runs: a second
# build waits its turn instead of failing on "Could not get lock".
with_package_cache_lock() {
  if [ -z "${chroot_pkg_cache:-}" ]; then
    "$@"
    return
  fi
  mkdir -p "$chroot_pkg_cache"
  flock "${chroot_pkg_cache%/}.lock" "$@"
}

# package_cache_dir MIRROR: where .deb files for this suite and mirror are kept on the
# build machine between builds (debootstrap --cache-dir and apt's archives share it).
package_cache_dir() {
  local key
  key=$(printf '%s %s %s' "$os_suite" "$os_arch" "$1" | sha256sum | cut -c1-16)
  printf '%s/%s-%s-%s\n' "${pkg_cache_root:-/var/cache/stemforge/debs}" "$os_suite" "$os_arch" "$key"
}

# persist_package_cache: from config.sh, resolve the mirror and hand apply.sh both the
# mirror and the build machine's .deb cache directory for it (chroot_pkg_cache), which
# run_in_chroot binds over the chroot's /var/cache/apt/archives.
persist_package_cache() {
  local m
  m=$(resolve_mirror)
  persist mirror "$m"
  persist chroot_pkg_cache "$(package_cache_dir "$m")"
}

# drop_apt_lists: remove the chroot's downloaded package lists and apt's binary caches,
# which are stale as soon as the image is built and only add size.
drop_apt_lists() {
  rm -rf "$chroot"/var/lib/apt/lists/*
  rm -f "$chroot"/var/cache/apt/*.bin
}

# assert_no_chroot_processes: fail if any process still runs with its root in the chroot
# (a daemon a package started and that outlived run_in_chroot).
assert_no_chroot_processes() {
  local p root found=()
  for p in /proc/[0-9]*; do
    root=$(readlink "$p/root" 2>/dev/null) || continue
    case "$root" in
      "$chroot" | "$chroot"/*) found+=("${p#/proc/}:$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null | cut -c1-80)") ;;
    esac
  done
  [ "${#found[@]}" -eq 0 ] || fail "processes still running in the chroot: ${found[*]}"
}
