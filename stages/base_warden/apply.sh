#!/usr/bin/env bash
# Makes the image a warden (Garden container) root file system: services as the container runs them, no network restart, the warden agent.json.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

assert_infrastructure warden
assert_service_manager
ensure_bosh_dirs

# The warden CPI starts the container in one of two ways, which decides how services run:
#   runit lines (Jammy): the CPI runs /usr/sbin/runsvdir-start as the container's process;
#     no systemd. ssh, rsyslog and cron get runit services (as the reference), `service`
#     maps to sv, and the logging start script skips auditd.
#   systemd lines (Noble, Debian): the CPI runs with start_containers_with_systemd, so
#     systemd is the container's init and the agent starts monit through it
#     (ServiceManager systemd in agent.json). As the reference's Noble stage: a higher
#     restart limit, auditd without local events, systemd-binfmt masked (binfmt_misc is the
#     host's). A systemd-line warden stemcell does not start under a CPI without that option.

# Older warden CPIs bind-mount a directory here.
dev_dir=$(target /warden-cpi-dev)
install -d -o root -g root -m 0755 "$dev_dir"

# /var/vcap/bosh/bin/unshare: tests of the warden CPI start a process as PID 1 of its own
# namespace with it (-p). The reference ships a binary of its own from the days when the
# distribution's unshare lacked -p; every line's util-linux has it now, so this is a link
# to the image's, which package upgrades keep current.
unshare_bin=$(chroot "$chroot" sh -c 'command -v unshare' || true)
[ -n "$unshare_bin" ] || fail "the image has no unshare (util-linux)"
chroot "$chroot" "$unshare_bin" --help | grep -- '--pid' > /dev/null || fail "$unshare_bin has no --pid"
run_in_chroot "ln -sfn '$unshare_bin' '$bosh_bin_dir/unshare'"
[ "$(chroot "$chroot" readlink -f "$bosh_bin_dir/unshare")" = "$(chroot "$chroot" readlink -f "$unshare_bin")" ] \
  || fail "$bosh_bin_dir/unshare does not lead to $unshare_bin"

file=$(target "$bosh_bin_dir/restart_networking")
write_file 0755 "$file" < "$assets_dir/restart_networking"
check_script "$bosh_bin_dir/restart_networking"

case "$os_service_manager" in
  runit)
    [ -x "$chroot/usr/sbin/runsvdir-start" ] || fail "/usr/sbin/runsvdir-start is missing: the warden CPI starts the container with it"
    services=(ssh rsyslog)
    if [ -x "$chroot/usr/sbin/cron" ]; then services+=(cron); else log "cron is not installed: no cron service"; fi
    for daemon in /usr/sbin/sshd /usr/sbin/rsyslogd; do
      [ -x "$chroot$daemon" ] || fail "$daemon is missing from the image"
    done
    # Made inside the chroot: /etc/service may be a symlink the build machine would
    # resolve against its own root. A service directory a package ships (Debian's
    # openssh-server has /etc/sv/ssh) keeps only our run script: its log service and
    # finish script expect runit as init, and its supervise link points into /run, where
    # nothing makes the target in a container; runsv makes a real supervise directory.
    for s in "${services[@]}"; do
      run_in_chroot "
        mkdir -p /etc/sv/$s /etc/service
        rm -rf /etc/sv/$s/log /etc/sv/$s/finish
        if [ -L /etc/sv/$s/supervise ]; then rm -f /etc/sv/$s/supervise; fi
        cat > /etc/sv/$s/run.new
        chmod 0755 /etc/sv/$s/run.new
        mv /etc/sv/$s/run.new /etc/sv/$s/run
        ln -sfn /etc/sv/$s /etc/service/$s
      " < "$assets_dir/sv-$s-run"
      check_script "/etc/sv/$s/run"
      [ "$(chroot "$chroot" readlink "/etc/service/$s")" = "/etc/sv/$s" ] || fail "/etc/service/$s does not link to /etc/sv/$s"
    done
    # rsyslog listens on /dev/log itself: no socket handed over by systemd.
    rsyslog_conf=$(target /etc/rsyslog.conf)
    # shellcheck disable=SC2016 # a literal rsyslog directive
    if grep -q '^\$SystemLogSocketName' "$rsyslog_conf"; then sed -i '/^\$SystemLogSocketName/d' "$rsyslog_conf"; fi
    run_in_chroot 'rsyslogd -N1 > /dev/null 2>&1' || fail "rsyslogd rejects /etc/rsyslog.conf"

    # `service NAME ACTION` reaches the runit services.
    # The original is copied, not renamed: it belongs to an Essential package, and there is
    # no moment without a /usr/sbin/service.
    diversion=$(run_in_chroot 'dpkg-divert --list /usr/sbin/service')
    if [[ $diversion != *service.distrib* ]]; then
      run_in_chroot '
        cp -p /usr/sbin/service /usr/sbin/service.distrib
        dpkg-divert --local --no-rename --divert /usr/sbin/service.distrib --add /usr/sbin/service
      '
    fi
    [ -e "$chroot/usr/sbin/service.distrib" ] || fail "the distribution's service command was not diverted"
    file=$(target /usr/sbin/service)
    write_file 0755 "$file" < "$assets_dir/service"
    check_script /usr/sbin/service

    file=$(target "$bosh_bin_dir/bosh-start-logging-and-auditing")
    write_file 0755 "$file" < "$assets_dir/bosh-start-logging-and-auditing"
    check_script "$bosh_bin_dir/bosh-start-logging-and-auditing"
    log "runit services: ${services[*]}; service -> sv; no auditd"
    ;;
  systemd)
    file=$(target /etc/systemd/system.conf.d/50-bosh-warden.conf)
    write_file 0644 "$file" < "$assets_dir/50-bosh-warden.conf"
    auditd_conf=$(target /etc/audit/auditd.conf)
    if [ -f "$auditd_conf" ]; then
      set_auditd() {
        local tmp
        tmp=$(mktemp "$auditd_conf.XXXXXX")
        awk 'BEGIN { done = 0 }
          /^[[:space:]]*#?[[:space:]]*local_events[[:space:]]*=/ { if (!done) print "local_events = no"; done = 1; next }
          { print }
          END { if (!done) print "local_events = no" }' "$auditd_conf" > "$tmp"
        chmod --reference="$auditd_conf" "$tmp"
        chown --reference="$auditd_conf" "$tmp"
        mv "$tmp" "$auditd_conf"
      }
      set_auditd
      [ "$(grep -c '^local_events = no$' "$auditd_conf")" = 1 ] || fail "auditd.conf does not say local_events = no"
    else
      log "auditd is not installed"
    fi
    systemd_unit mask systemd-binfmt.service
    [ "$(chroot "$chroot" systemctl is-enabled systemd-binfmt.service 2>/dev/null || true)" = masked ] || fail "systemd-binfmt.service is not masked"
    log "systemd in the container: DefaultStartLimitBurst=500, auditd local_events = no, systemd-binfmt masked"
    ;;
esac

install_agent_json File
