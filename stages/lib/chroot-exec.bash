#!/usr/bin/env bash
# Runs as pid 1 of a private pid+mount namespace made by run_in_chroot (chroot.bash):
# mount what a package manager needs, then replace itself with the chrooted script.
set -euo pipefail
root=$1 pkg_cache=$2 script=$3

mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t sysfs -o ro sysfs "$root/sys"
# Once a resolver that lives in /run on a booted system owns /etc/resolv.conf (a link to
# systemd-resolved's stub-resolv.conf or resolvconf's file), the link dangles in the image:
# this run gets the build machine's name servers there, on a tmpfs that vanishes with it.
link=$(readlink "$root/etc/resolv.conf" || true)
if [ -n "$link" ]; then
  case "$link" in
    /*) target=$(realpath -m -s "$link") ;;
    *) target=$(realpath -m -s "/etc/$link") ;;
  esac
  if [[ $target == /run/* ]] && [ ! -e "$root$target" ] && [ -f /etc/resolv.conf ]; then
    mount -t tmpfs -o mode=0755 stemforge-run "$root/run"
    mkdir -p "$root$(dirname "$target")"
    cat /etc/resolv.conf > "$root$target"
  fi
fi
if [ -n "$pkg_cache" ]; then
  mkdir -p "$pkg_cache" "$root/var/cache/apt/archives"
  mount --bind "$pkg_cache" "$root/var/cache/apt/archives"
fi

env_args=(
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  HOME=/root
  LANG=C.UTF-8
  DEBIAN_FRONTEND=noninteractive
  DEBCONF_NONINTERACTIVE_SEEN=true
)
for v in http_proxy https_proxy no_proxy; do
  if [ -n "${!v:-}" ]; then env_args+=("$v=${!v}"); fi
done

exec chroot "$root" /usr/bin/env -i "${env_args[@]}" /bin/bash -euo pipefail -c "$script"
