#!/usr/bin/env bash
# Compiles monit 5.2.5 as BOSH's job supervisor (/var/vcap/bosh/bin/monit-actual behind the wrapper /var/vcap/bosh/bin/monit), with its monitrc, its service and the filter that keeps its API to the agent.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/packages.bash"
source "$lib_dir/downloads.bash"

# Which monit: 5.2.5, compiled from source into /var/vcap/bosh as the reference does. The
# BOSH agent drives jobs through monit's HTTP API with plain form posts (start, stop,
# unmonitor); the monit of today's distributions (5.33) refuses those without a CSRF token
# ("403 Invalid CSRF Token"), so a stemcell with it cannot run a single job.
assert_service_manager
case "${monit_api_filter:-}" in
  iptables) filter_tool=iptables ;;
  nftables) filter_tool=nftables ;;
  *) fail "monit_api_filter is '${monit_api_filter:-}', expected iptables or nftables" ;;
esac
[ -n "${monit_tarball:-}" ] || fail "no monit source was found by config.sh (run it first)"
[ -f "$monit_tarball" ] || fail "$monit_tarball is missing on the build machine (run config.sh again)"
got=$(sha256_of "$monit_tarball")
[ "$got" = "$monit_source_sha256" ] || fail "$monit_tarball has sha256 $got, expected $monit_source_sha256"

# The distribution's monit, from an image built before stemforge compiled its own, must
# not stay beside ours.
if [ "$(package_status monit)" = installed ]; then
  log "removing the distribution's monit package"
  pkg_purge monit
fi

# What compiling needs: a compiler and make (base_*_build_essential), flex, bison and zlib's
# headers. What this stage installs for it, it removes again.
[[ -x "$chroot/usr/bin/gcc" && -x "$chroot/usr/bin/make" ]] || fail "gcc and make must be in the image (base_${os_distro}_build_essential)"
added=()
for p in flex bison zlib1g-dev "$filter_tool"; do
  [ "$(package_status "$p")" = installed ] || added+=("$p")
done
if [ "${#added[@]}" -gt 0 ]; then
  log "installing ${added[*]}"
  pkg_install "${added[@]}"
fi

src=/var/vcap/bosh/src/monit
src_dir=$(target "$src")
rm -rf "$src_dir"
install -d -m 0755 "$src_dir"
tar -xzf "$monit_tarball" -C "$src_dir" --strip-components=1 --no-same-owner
[ -x "$src_dir/configure" ] || fail "$monit_tarball has no configure script at its top: not a monit source tarball"
log "compiling monit ($(basename "$monit_tarball"))"
# -fcommon: monit 5.2.5 defines globals in a header, which GCC 10 and later refuse by default.
# shellcheck disable=SC2016 # expanded inside the chroot
run_in_chroot "
  set -euo pipefail
  cd $src
  ./configure --prefix=$bosh_dir --without-ssl CFLAGS=-fcommon > configure.log 2>&1 || { tail -n 30 configure.log; exit 1; }
  make -j\$(nproc) > make.log 2>&1 || { tail -n 30 make.log; exit 1; }
  make install > install.log 2>&1 || { tail -n 30 install.log; exit 1; }
"
# The real binary is monit-actual; /var/vcap/bosh/bin/monit is BOSH's wrapper (below).
mv -f "$(target "$bosh_bin_dir/monit")" "$(target "$bosh_bin_dir/monit-actual")"
chown root:root "$(target "$bosh_bin_dir/monit-actual")"
chmod 0755 "$(target "$bosh_bin_dir/monit-actual")"
rm -rf "$src_dir"
rmdir "$(target /var/vcap/bosh/src)" 2>/dev/null || true
monit_version=$(chroot "$chroot" "$bosh_bin_dir/monit-actual" -V | head -n 1)
log "$monit_version"
[[ $monit_version == *"version 5.2.5"* ]] || log "warning: this is not monit 5.2.5, the version the BOSH agent's job control is written against"

removable=()
for p in "${added[@]}"; do [ "$p" = "$filter_tool" ] || removable+=("$p"); done
if [ "${#removable[@]}" -gt 0 ]; then
  log "removing ${removable[*]} again"
  pkg_purge "${removable[@]}"
  run_in_chroot 'apt-get autoremove -y -q --purge'
fi
drop_apt_lists
assert_no_chroot_processes

ensure_bosh_dirs
monit_dir=$(target "$bosh_app_dir/monit")
install -d -o root -g root -m 0700 "$monit_dir"

install_asset() {
  local mode=$1 name=$2 path=$3 file
  file=$(target "$path")
  write_file "$mode" "$file" < "$assets_dir/$name"
  chown root:root "$file"
}
install_asset 0700 monitrc "$bosh_etc_dir/monitrc"
install_asset 0755 monit "$bosh_bin_dir/monit"
helper=$(target "$bosh_etc_dir/monit-access-helper.sh")
sed "s/@MONIT_API_FILTER@/$monit_api_filter/" "$assets_dir/monit-access-helper.sh" | write_file 0644 "$helper"
install_asset 0755 restrict-monit-api "$bosh_bin_dir/restrict-monit-api"
install_asset 0644 bosh-monit-api-filter.service /etc/systemd/system/bosh-monit-api-filter.service
for script in "$bosh_bin_dir/monit" "$bosh_bin_dir/restrict-monit-api"; do check_script "$script"; done
run_in_chroot "sh -n $bosh_etc_dir/monit-access-helper.sh" || fail "monit-access-helper.sh has a syntax error"

nft_rules=/etc/nftables.d/bosh-monit-api.nft
agent_dropin=/etc/systemd/system/bosh-agent.service.d/50-monit-api-filter.conf
if [ "$monit_api_filter" = nftables ]; then
  install_asset 0644 bosh-monit-api.nft "$nft_rules"
  install_asset 0644 bosh-agent-monit-api.conf "$agent_dropin"
else
  run_in_chroot "rm -f $nft_rules $agent_dropin"
fi

# The runit service directories are made inside the chroot: on Debian /etc/service is a
# chain of symlinks ending in an absolute one, which the build machine would resolve
# against its own root.
case "$os_service_manager" in
  systemd)
    # Not enabled: the agent starts monit (see the unit's comment).
    install_asset 0644 monit.service /etc/systemd/system/monit.service
    run_in_chroot 'rm -rf /etc/sv/monit /etc/service/monit'
    ;;
  runit)
    run_in_chroot '
      mkdir -p /etc/sv/monit /etc/service
      cat > /etc/sv/monit/run.new
      chmod 0755 /etc/sv/monit/run.new
      mv /etc/sv/monit/run.new /etc/sv/monit/run
      # down: runsv does not start monit on its own, only when the agent says sv start
      touch /etc/sv/monit/down
      ln -sfn /etc/sv/monit /etc/service/monit
    ' < "$assets_dir/sv-monit-run"
    check_script /etc/sv/monit/run
    [ "$(chroot "$chroot" readlink /etc/service/monit)" = /etc/sv/monit ] || fail "/etc/service/monit does not link to /etc/sv/monit"
    # A unit file of ours from a systemd build would keep systemctl from masking.
    run_in_chroot '[ -L /etc/systemd/system/monit.service ] || rm -f /etc/systemd/system/monit.service'
    systemd_unit mask monit.service
    ;;
esac
systemd_unit enable bosh-monit-api-filter.service

# Validate with the image's own tools: monit -t on the control file (see bosh.bash).
check_monit_control_file || fail "monit rejects $bosh_etc_dir/monitrc"

# restrict-monit-api itself, three times, before and after the agent's cgroup exists, in a
# private network namespace (no rule reaches the build machine) over a private
# /sys/fs/cgroup (where the cgroups the rules name are made). Not where qemu-user runs the
# image's programs: it does not carry the netlink netfilter protocol nft and iptables speak
# ("Unable to initialize Netlink socket: Protocol not supported"), so the rules are left to
# the static checks and the VM's boot.
if image_is_foreign && [ "$(image_emulator | cut -d' ' -f1)" = qemu-user ]; then
  log "warning: restrict-monit-api not tried in a sandbox: qemu-user cannot pass the image's $monit_api_filter rules to the kernel (netlink netfilter); they load at the VM's boot"
else
  case "$monit_api_filter" in
    nftables) show_rules='nft list table inet bosh_monit_api' ;;
    iptables) show_rules='iptables -w -t mangle -S POSTROUTING' ;;
  esac
  filter_out=$(run_in_chroot "
    unshare --net sh -euc '
      mount -t tmpfs stemforge-cgroup /sys/fs/cgroup
      touch /sys/fs/cgroup/cgroup.controllers
      /var/vcap/bosh/bin/restrict-monit-api
      mkdir -p /sys/fs/cgroup/system.slice/bosh-agent.service
      /var/vcap/bosh/bin/restrict-monit-api
      /var/vcap/bosh/bin/restrict-monit-api
      $show_rules
    '
  " 2>&1) || fail "restrict-monit-api failed in a sandbox: $filter_out"
  case "$monit_api_filter" in
    nftables) want='tcp dport 2822' count=3 ;;
    iptables) want='--dport 2822 -m cgroup ! --cgroup 2958295041 -j DROP' count=1 ;;
  esac
  [ "$(grep -cF -- "$want" <<< "$filter_out")" = "$count" ] || fail "restrict-monit-api loaded unexpected rules: $filter_out"
fi
assert_no_chroot_processes
log "monit: $bosh_bin_dir/monit, $bosh_etc_dir/monitrc (0700), supervised by $os_service_manager, API filter $monit_api_filter"
