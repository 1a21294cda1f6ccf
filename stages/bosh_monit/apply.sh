#!/usr/bin/env bash
# Installs monit as BOSH's job supervisor: /var/vcap/bosh/bin/monit, its monitrc, its service and the filter that keeps its API to the agent.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/packages.bash"

# Which monit: the distribution's package, not the reference's monit 5.2.5 compiled from a
# bundled tarball. The package gets security updates through apt, and that tarball's host
# is not reachable from here. Jobs' control files keep their syntax, and the agent's status
# requests (GET /_status2?format=xml over the HTTP API) work as before.
# NOT YET USABLE WITH THE AGENT: the packaged monit (5.33 here) refuses every POST without a
# CSRF token (a "securitytoken" cookie and form field), and the agent's start, stop and
# unmonitor requests carry none: monit answers them "403 Invalid CSRF Token". That has to
# be settled (a monit without the check, or an agent that sends the token) before an image
# with this monit can run BOSH jobs.
# The package's own daemon (/etc/init.d/monit with /etc/monit/monitrc) never runs.
assert_service_manager
case "${monit_api_filter:-}" in
  iptables) filter_tool=iptables ;;
  nftables) filter_tool=nftables ;;
  *) fail "monit_api_filter is '${monit_api_filter:-}', expected iptables or nftables" ;;
esac

missing=()
for p in monit "$filter_tool"; do
  [ "$(package_status "$p")" = installed ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  pkg_install "${missing[@]}"
  drop_apt_lists
  assert_no_chroot_processes
fi
[ -x "$chroot/usr/bin/monit" ] || fail "/usr/bin/monit is missing after installing monit"
log "$(chroot "$chroot" /usr/bin/monit -V | head -n 1)"

# The distribution's monit must not start at boot: its init script's links are disabled
# (update-rc.d also disables the unit systemd generates from it). On systemd lines our
# monit.service below replaces that unit; on runit lines it is masked.
# (update-rc.d's own "systemctl disable" finds no unit file offline and says so: ignored.)
rc_out=$(run_in_chroot 'update-rc.d monit disable' 2>&1) || fail "update-rc.d monit disable failed: $rc_out"
for link in "$chroot"/etc/rc[2-5].d/S*monit; do fail "${link#"$chroot"} still starts the distribution's monit"; done

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
# /sys/fs/cgroup (where the cgroups the rules name are made).
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
assert_no_chroot_processes
log "monit: $bosh_bin_dir/monit, $bosh_etc_dir/monitrc (0700), supervised by $os_service_manager, API filter $monit_api_filter"
