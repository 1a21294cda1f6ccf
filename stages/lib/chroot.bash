# shellcheck shell=bash
# Running commands inside the chroot. Sourced by prelude.bash.

# run_in_chroot SCRIPT: run bash SCRIPT inside "$chroot".
# It runs in a new pid and mount namespace (unshare), so every mount made for it (/proc,
# /dev, /sys, the package cache) vanishes with its last process, even after kill -9, and a
# stray `kill -1 1` in a maintainer script cannot reach the build machine.
# Daemons are kept from starting by a policy-rc.d that denies every action.
# Set chroot_pkg_cache to a host directory to keep downloaded .deb files across builds.
# Standard input is passed through to SCRIPT, so secrets can be fed on a pipe, e.g.
#   printf '%s\n' "$secret" | run_in_chroot 'chpasswd'   (printf is a builtin: no argv).
# --kill-child: if unshare itself is killed (even with SIGKILL), the namespace's pid 1 is
# killed too, instead of running on with the chroot's mounts until its script ends.
run_in_chroot() {
  local script=$1 policy="$chroot/usr/sbin/policy-rc.d" placed_policy=0 rc=0
  [ -d "$chroot" ] || fail "run_in_chroot: no chroot at $chroot"
  if [ ! -e "$policy" ]; then
    mkdir -p "$(dirname "$policy")"
    printf '#!/bin/sh\n# stemforge: no daemon starts while the image is built\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    placed_policy=1
  fi
  with_package_cache_lock unshare --fork --kill-child --pid --mount --propagation private -- \
    bash "$lib_dir/chroot-exec.bash" "$chroot" "${chroot_pkg_cache:-}" "$script" || rc=$?
  if [ "$placed_policy" = 1 ]; then rm -f "$policy"; fi
  return "$rc"
}

# pkg_install_commands PACKAGE...: the commands pkg_install runs in the chroot. dpkg
# --configure -a first: a resumed build may find a package half-configured by a run that was
# stopped in the middle of an install. The apt lists are dropped again so no stage leaves
# them behind.
pkg_install_commands() {
  printf '%s\n' 'dpkg --configure -a' 'apt-get update -q' \
    "apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $(printf '%q ' "$@")" \
    'rm -rf /var/lib/apt/lists/*'
}

# pkg_install PACKAGE...: install packages in the chroot without recommends.
pkg_install() {
  run_in_chroot "$(pkg_install_commands "$@")"
}

# pkg_purge PACKAGE...: remove packages (and their configuration) that are installed.
pkg_purge() {
  run_in_chroot "
    installed=()
    for p in $(printf '%q ' "$@"); do
      if dpkg-query -W -f='\${Status}' \"\$p\" 2>/dev/null | grep -q 'install ok installed'; then installed+=(\"\$p\"); fi
    done
    if [ \${#installed[@]} -gt 0 ]; then apt-get purge -y -q \"\${installed[@]}\"; fi
  "
}

# systemd_unit ACTION UNIT...: enable, disable or mask systemd units in the chroot. systemctl
# edits the unit links offline when it runs in a chroot; no systemd needs to be running.
systemd_unit() {
  local action=$1
  shift
  case "$action" in enable | disable | mask | unmask) ;; *) fail "systemd_unit: unsupported action '$action'" ;; esac
  run_in_chroot "systemctl $action $(printf '%q ' "$@")"
}
