#!/usr/bin/env bash
# Installs the BOSH agent (/var/vcap/bosh/bin/bosh-agent, its helper scripts, an empty agent.json), its service, monit's alerts to it, and cron/at for vcap only.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/stemcell.bash"
source "$lib_dir/hardening.bash"

assert_service_manager
[ -n "${agent_binary:-}" ] || fail "no agent binary was found by config.sh (run it first)"
[ -x "$chroot/var/vcap/bosh/bin/monit-actual" ] || fail "monit is missing: bosh_monit must have run in the OS image"
chroot "$chroot" getent passwd vcap >/dev/null || fail "user vcap is missing: bosh_users must have run in the OS image"

ensure_bosh_dirs

# The agent, checked against agent_sha256 before and after the copy.
install_binary "$agent_binary" "$agent_sha256" "$bosh_bin_dir/bosh-agent"
log "$bosh_bin_dir/bosh-agent installed (sha256 $agent_sha256)"

# Its helper scripts, called by name from /var/vcap/bosh/bin.
# (Every path of the image is resolved by target in an assignment of its own, so that a
# failing check stops the stage.)
rc_file=$(target "$bosh_bin_dir/bosh-agent-rc")
install_if_changed 0755 "$rc_file" < "$assets_dir/bosh-agent-rc"
networking_file=$(target "$bosh_bin_dir/restart_networking")
install_if_changed 0755 "$networking_file" < "$assets_dir/restart_networking"
for script in "$bosh_bin_dir/bosh-agent-rc" "$bosh_bin_dir/restart_networking"; do check_script "$script"; done

# agent.json: an empty object; the infrastructure's bosh_<iaas>_agent_settings stage writes
# the real one.
agent_json=$(target "$bosh_dir/agent.json")
write_file 0644 "$agent_json" <<< '{}'
# The cache the agent uses for create-env (micro BOSH) compilations.
cache=$(target /var/vcap/micro_bosh/data/cache)
mkdir -p "$cache"

# cron and at: only vcap may use them (root always may). The deny lists are void once an
# allow list exists; they go, so nobody reads them as if they applied.
cron_allow=$(target /etc/cron.allow)
install_if_changed 0640 "$cron_allow" <<< 'vcap'
at_allow=$(target /etc/at.allow)
install_if_changed 0640 "$at_allow" <<< 'vcap'
rm -f "$chroot/etc/cron.deny" "$chroot/etc/at.deny"
# crontab and at read their allow list with their own group's rights.
if chroot "$chroot" getent group crontab >/dev/null; then chroot "$chroot" chgrp crontab /etc/cron.allow; fi
if chroot "$chroot" getent group daemon >/dev/null; then chroot "$chroot" chgrp daemon /etc/at.allow; fi

# cron's own files and folders: root's only (CIS 9.1.2-9.1.7); cron runs as root and reads
# them whatever their mode.
for f in /etc/crontab /etc/cron.hourly /etc/cron.daily /etc/cron.weekly /etc/cron.monthly /etc/cron.d; do
  [ -e "$chroot$f" ] || continue
  [ ! -L "$chroot$f" ] || fail "$f is a symlink; expected cron's own file or folder"
  chown root:root "$chroot$f"
  chmod og-rwx "$chroot$f"
done
# The files in /etc/cron.d are root's too (their folder is closed anyway).
find "$chroot/etc/cron.d" -maxdepth 1 -type f -exec chown root:root {} + -exec chmod og-rwx {} +

# /var/lock (a link to /run/lock): jobs, which run as vcap, keep their lock files there;
# nobody else but root writes it. /run is a tmpfs at boot, so systemd-tmpfiles sets the
# same owner and mode there; our file sorts before legacy.conf, whose entry it replaces.
lock_dir=$(chroot "$chroot" readlink -f /var/lock)
[[ -n "$lock_dir" && "$lock_dir" != / ]] || fail "/var/lock does not resolve in the image"
# (Set from here: run_in_chroot may put a tmpfs on /run for the time of its script.)
vcap_gid=$(chroot "$chroot" getent group vcap | cut -d: -f3)
[ -n "$vcap_gid" ] || fail "group vcap is missing: bosh_users must have run in the OS image"
lock_path=$(target "$lock_dir")
install -d -o 0 -g "$vcap_gid" -m 0770 "$lock_path"
chown 0:"$vcap_gid" "$lock_path"
chmod 0770 "$lock_path"
lock_conf=$(target /etc/tmpfiles.d/bosh-lock.conf)
install_if_changed 0644 "$lock_conf" <<EOF2
# Written by stemforge (bosh_go_agent): /var/lock ($lock_dir) for root and the vcap group only.
d $lock_dir 0770 root vcap -
EOF2

# monit tells the agent about job events by mail; monit includes /var/vcap/monit/*.monitrc.
alerts=$(target /var/vcap/monit/alerts.monitrc)
install_if_changed 0600 "$alerts" < "$assets_dir/alerts.monitrc"
check_monit_control_file || fail "monit rejects its control file with /var/vcap/monit/alerts.monitrc"

# The service. Links in /etc/service are made inside the chroot: on Debian it is a chain of
# symlinks ending in an absolute one, which the build machine would resolve against its
# own root.
unit=/etc/systemd/system/bosh-agent.service
case "$os_service_manager" in
  runit)
    run_in_chroot '
      mkdir -p /etc/sv/agent/log /etc/service
      cat > /etc/sv/agent/run.new
      chmod 0755 /etc/sv/agent/run.new
      mv /etc/sv/agent/run.new /etc/sv/agent/run
    ' < "$assets_dir/agent-run"
    run_in_chroot '
      cat > /etc/sv/agent/log/run.new
      chmod 0755 /etc/sv/agent/log/run.new
      mv /etc/sv/agent/log/run.new /etc/sv/agent/log/run
      ln -sfn /etc/sv/agent /etc/service/agent
    ' < "$assets_dir/agent-log-run"
    check_script /etc/sv/agent/run
    check_script /etc/sv/agent/log/run
    [ "$(chroot "$chroot" readlink /etc/service/agent)" = /etc/sv/agent ] || fail "/etc/service/agent does not link to /etc/sv/agent"
    # A unit of ours from an earlier systemd build would start a second agent.
    if [ -f "$chroot$unit" ]; then
      systemd_unit disable bosh-agent.service
      rm -f "$chroot$unit"
    fi
    log "agent service: /etc/sv/agent, linked into /etc/service (runit)"
    ;;
  systemd)
    unit_file=$(target "$unit")
    install_if_changed 0644 "$unit_file" < "$assets_dir/bosh-agent.service"
    # runit's service from an earlier runit build would start a second agent.
    run_in_chroot 'rm -rf /etc/service/agent /etc/sv/agent'
    systemd_unit enable bosh-agent.service
    verify=$(run_in_chroot 'systemd-analyze verify bosh-agent.service 2>&1') || fail "systemd-analyze verify rejects bosh-agent.service: $verify"
    [ "$(chroot "$chroot" readlink /etc/systemd/system/agent.service)" = "$unit" ] || fail "agent.service is not an alias of bosh-agent.service"
    [ -L "$chroot/etc/systemd/system/multi-user.target.wants/bosh-agent.service" ] || fail "bosh-agent.service is not enabled"
    log "agent service: bosh-agent.service (alias agent.service), enabled; drop-ins: $(cd "$chroot/etc/systemd/system/bosh-agent.service.d" 2>/dev/null && ls -m || echo none)"
    ;;
esac
assert_no_chroot_processes
