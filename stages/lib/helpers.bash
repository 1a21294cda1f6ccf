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

# host_apt_uris: every archive URI the build machine's apt is configured with, one per
# line as "URI SUITE", from one-line .list files and deb822 .sources files.
host_apt_uris() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      print $i, $(i + 1)
    }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^|[[:space:]])deb([[:space:]]|$)/ && enabled != "no") {
          n = split(uris, u, /[[:space:]]+/); m = split(suites, s, /[[:space:]]+/)
          for (a = 1; a <= n; a++) for (b = 1; b <= m; b++) if (u[a] != "" && s[b] != "") print u[a], s[b]
        }
        types = ""; uris = ""; suites = ""; enabled = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      tolower($1) == "types:"   { $1 = ""; types = $0 }
      tolower($1) == "uris:"    { $1 = ""; uris = $0 }
      tolower($1) == "suites:"  { $1 = ""; suites = $0 }
      tolower($1) == "enabled:" { enabled = tolower($2) }
      END { flush() }
    ' "$f"
  done
}

# host_mirror_for_suite SUITE: the build machine's mirror URI that serves SUITE itself
# (not SUITE-security), or nothing.
host_mirror_for_suite() {
  host_apt_uris | awk -v suite="$1" '$2 == suite { print $1; exit }'
}

# host_security_mirror_for_suite SUITE: the build machine's URI for SUITE-security, or nothing.
host_security_mirror_for_suite() {
  host_apt_uris | awk -v suite="$1-security" '$2 == suite { print $1; exit }'
}

# resolve_mirror: the archive to build from, in this order: the user's --mirror; with
# BUILD_TIME, the dated snapshot <snapshot_mirror>/<BUILD_TIME>; else (policy host-apt) the
# build machine's own apt configuration for this suite.
resolve_mirror() {
  local m
  if [ -n "${mirror:-}" ]; then printf '%s\n' "$mirror"; return; fi
  if [ -n "${build_time:-}" ]; then
    [ -n "${snapshot_mirror:-}" ] || fail "BUILD_TIME=$build_time asks for a dated snapshot archive: pass --snapshot-mirror URL (stemforge appends /$build_time), or --mirror URL to use an archive as it is"
    printf '%s/%s\n' "${snapshot_mirror%/}" "$build_time"
    return
  fi
  case "${mirror_policy:-}" in
    host-apt)
      m=$(host_mirror_for_suite "$os_suite")
      [ -n "$m" ] || fail "the build machine's apt configuration has no archive for '$os_suite'; pass --mirror URL"
      printf '%s\n' "$m"
      ;;
    *) fail "no archive for $os_name: pass --mirror URL (an archive with the $os_suite, $os_suite-updates and $os_suite-security pockets), or set BUILD_TIME and --snapshot-mirror URL" ;;
  esac
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
