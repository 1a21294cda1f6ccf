#!/usr/bin/env bash
# Makes logrotate run every 15 minutes from cron (per-VM offset, nice/ionice) instead of daily, with BOSH's logrotate.conf (su to /var/log's group, wtmp/btmp in it).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/hardening.bash"

[ -x "$chroot/usr/sbin/logrotate" ] || fail "logrotate is not installed in the image"
[ -x "$chroot/usr/sbin/cron" ] || fail "cron is not installed in the image: /etc/cron.d/logrotate would never run"

# logrotate refuses to work in directories that others than root may write (/var/log is
# root:syslog 0775 since rsyslog_config, job log directories are vcap's) unless told which
# user and group to work as: the default for every file is root with /var/log's group.
log_group=$(chroot "$chroot" stat -c %G /var/log)
conf=$(target /etc/logrotate.conf)
install_if_changed 0644 "$conf" <<EOF2
# Written by stemforge (logrotate_config). Defaults for every log; packages and the BOSH
# agent (job logs, by size) add their files in /etc/logrotate.d. logrotate runs every 15
# minutes (/etc/cron.d/logrotate).
su root $log_group
weekly
rotate 4
create

include /etc/logrotate.d

# Login records (the logrotate package's own files for them are removed: one place only).
/var/log/wtmp {
	missingok
	monthly
	create 0664 root utmp
	minsize 1M
	rotate 1
}

/var/log/btmp {
	missingok
	monthly
	create 0660 root utmp
	rotate 1
}
EOF2
rm -f "$chroot/etc/logrotate.d/wtmp" "$chroot/etc/logrotate.d/btmp"

runner=$(target /usr/local/sbin/bosh-logrotate)
install_if_changed 0755 "$runner" < "$assets_dir/bosh-logrotate"
check_script /usr/local/sbin/bosh-logrotate
cron_file=$(target /etc/cron.d/logrotate)
# root's only, as every file of cron (bosh_go_agent closes the rest).
install_if_changed 0600 "$cron_file" <<'EOF2'
# Written by stemforge (logrotate_config): log rotation every 15 minutes (the script waits
# a per-VM offset first).
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
0,15,30,45 * * * * root /usr/local/sbin/bosh-logrotate
EOF2

# cron is the one schedule: the package's daily timer is masked (a mask survives package
# upgrades); its /etc/cron.daily/logrotate does nothing where systemd runs.
if [ -f "$chroot/usr/lib/systemd/system/logrotate.timer" ] || [ -f "$chroot/lib/systemd/system/logrotate.timer" ]; then
  systemd_unit mask logrotate.timer
fi

# The image's logrotate reads the whole configuration in debug mode (nothing is rotated).
out=$(run_in_chroot 'logrotate --debug --state /dev/null /etc/logrotate.conf 2>&1') || fail "logrotate rejects its configuration: $out"
if grep -qi '^error' <<< "$out"; then fail "logrotate: $(grep -i '^error' <<< "$out" | tr '\n' ' ')"; fi
assert_no_chroot_processes
log "logrotate: every 15 minutes from /etc/cron.d/logrotate, su root $log_group, logrotate.timer masked; $(grep -c '^rotating pattern' <<< "$out") patterns read"
