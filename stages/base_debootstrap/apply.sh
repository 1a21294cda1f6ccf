#!/usr/bin/env bash
# Bootstraps the base system into the chroot with debootstrap, then sets hosts, UTC and the en_US.UTF-8 locale.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# The marker lives beside the chroot, not in it, so it never ends up in the image. It
# records what was bootstrapped: a chroot made for other settings is not reused.
marker="$work/base_debootstrap.done"
fingerprint="$os_name $os_suite $os_arch variant=${debootstrap_variant:-default} include=${debootstrap_include:-} components=$os_components"

# debootstrap_log_tail: the end of debootstrap's own log, which says which package failed.
debootstrap_log_tail() {
  if [ -f "$chroot/debootstrap/debootstrap.log" ]; then tail -n 30 "$chroot/debootstrap/debootstrap.log" >&2; fi
}

# mounts_under DIR: mount points at or below DIR on the build machine.
mounts_under() {
  awk -v dir="$1" '$2 == dir || index($2, dir "/") == 1 { print $2 }' /proc/self/mounts
}

if [ -f "$chroot/etc/os-release" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$fingerprint" ]; then
  log "chroot already bootstrapped ($fingerprint); skipping debootstrap"
else
  if [ -e "$chroot" ]; then
    leftover=$(mounts_under "$chroot")
    [ -z "$leftover" ] || fail "refusing to remove $chroot: something is mounted inside it: $leftover"
    log "removing an unfinished or outdated chroot at $chroot"
    rm -rf --one-file-system "$chroot"
  fi
  rm -f "$marker"
  mkdir -p "$work" "$chroot_pkg_cache"

  # a command substitution, not <(…): a failure in it stops the stage
  command_line=$(debootstrap_command_args)
  mapfile -t args <<< "$command_line"

  log "debootstrap ${args[*]}"
  # debootstrap mounts /proc, /sys and /dev/pts inside the target. A private mount
  # namespace keeps those mounts off the build machine, and they vanish with the namespace
  # even if debootstrap is killed. A pid namespace with --kill-child takes every process
  # debootstrap started down with it, so nothing keeps the namespace (or the chroot) busy.
  if ! with_package_cache_lock unshare --mount --propagation private --fork --pid --kill-child -- \
    debootstrap "${args[@]}"; then
    debootstrap_log_tail
    fail "debootstrap of $os_suite failed (the chroot is left for inspection and will be removed on the next run)"
  fi
  if image_is_foreign; then
    # --foreign only unpacked the packages: their own (emulated) programs configure them
    log "debootstrap second stage: configuring the $os_arch packages through the emulator"
    if ! unshare --mount --propagation private --fork --pid --kill-child -- \
      chroot "$chroot" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 /debootstrap/debootstrap --second-stage; then
      debootstrap_log_tail
      fail "debootstrap's second stage of $os_suite/$os_arch failed (the chroot is left for inspection and will be removed on the next run)"
    fi
  fi
  [ -f "$chroot/etc/os-release" ] || fail "debootstrap finished but $chroot/etc/os-release is missing"
  leftover=$(mounts_under "$chroot")
  [ -z "$leftover" ] || fail "mounts left behind in the chroot after debootstrap: $leftover"
  printf '%s\n' "$fingerprint" > "$marker"
  log "debootstrap done"
fi

# debootstrap keeps copies of the .debs it installed and the lists it used; the build
# machine's cache has the .debs, the image needs neither.
rm -f "$chroot"/var/cache/apt/archives/*.deb
drop_apt_lists

# debootstrap copies the build machine's /etc/hostname into the target: never ship that.
# (It also copies /etc/resolv.conf, which the later apt stages need to resolve the mirror.)
printf 'localhost\n' | write_file 0644 "$chroot/etc/hostname"

write_file 0644 "$chroot/etc/hosts" <<'HOSTS'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
HOSTS

printf 'Etc/UTC\n' | write_file 0644 "$chroot/etc/timezone"
ln -sfn /usr/share/zoneinfo/Etc/UTC "$chroot/etc/localtime"

printf 'LANG=en_US.UTF-8\n' | write_file 0644 "$chroot/etc/default/locale"

# Generate en_US.UTF-8. Debian's locale-gen builds what /etc/locale.gen enables; Ubuntu's
# takes the locale as an argument. tzdata is reconfigured so its debconf answer matches
# the /etc/localtime link set above.
run_in_chroot "
  if [ -f /usr/share/zoneinfo/Etc/UTC ] && dpkg-query -W -f='\${Status}' tzdata 2>/dev/null | grep -q 'ok installed'; then
    dpkg-reconfigure -f noninteractive tzdata
  else
    echo 'tzdata is not installed: /etc/localtime points at Etc/UTC, glibc falls back to UTC'
  fi
  command -v locale-gen >/dev/null || { echo 'locale-gen missing: add locales to debootstrap_include' >&2; exit 1; }
  case $(printf %q "$os_distro") in
    ubuntu)
      locale-gen en_US.UTF-8
      ;;
    *)
      touch /etc/locale.gen
      if grep -Eq '^[[:space:]]*#?[[:space:]]*en_US\.UTF-8[[:space:]]+UTF-8' /etc/locale.gen; then
        sed -Ei 's/^[[:space:]]*#?[[:space:]]*(en_US\.UTF-8[[:space:]]+UTF-8)/\1/' /etc/locale.gen
      else
        echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen
      fi
      locale-gen
      ;;
  esac
  locale -a | grep -qx 'en_US.utf8' || { echo 'en_US.UTF-8 was not generated' >&2; exit 1; }
"
drop_apt_lists
# shellcheck disable=SC1091 # the chroot's os-release, read at run time
log "base system ready: $(. "$chroot/etc/os-release" && printf '%s' "$PRETTY_NAME")"
