#!/usr/bin/env bash
# Configures rsyslog (files, rotation, syslog user in vcap, start after /var/log is mounted) and keeps the journal in memory.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/hardening.bash"

[ -x "$chroot/usr/sbin/rsyslogd" ] || fail "rsyslog must be installed before $stage_name"
[ -x "$chroot/usr/lib/rsyslog/rsyslog-rotate" ] || fail "/usr/lib/rsyslog/rsyslog-rotate is missing (logrotate's postrotate needs it)"
chroot "$chroot" getent group vcap >/dev/null || fail "group vcap is missing: bosh_users must run before $stage_name"

# The syslog user. Ubuntu's rsyslog package creates it and runs rsyslogd as syslog; Debian's
# has no such user and runs rsyslogd as root. We make Debian behave like Ubuntu (the
# reference creates the user when missing, too): a system user syslog, rsyslogd dropping
# to it, /var/log group-writable for it. The BOSH agent needs the group too: it chowns the
# data disk's log directory (mounted on /var/log) to root:syslog. On every line syslog
# joins vcap, so it can read job logs.
run_in_chroot '
  if ! getent passwd syslog >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin syslog
  fi
  usermod --append --groups vcap syslog
'
id_out=$(chroot "$chroot" id syslog)
[[ $id_out == *"(vcap)"* ]] || fail "syslog is not in the vcap group: $id_out"

# Configuration: ours only. rsyslog.d is emptied first (packages drop files there that
# would log twice or to places we do not rotate), as the reference does.
install_if_changed 0644 "$chroot/etc/rsyslog.conf" < "$assets_dir/rsyslog.conf"
mkdir -p "$chroot/etc/rsyslog.d"
for f in "$chroot"/etc/rsyslog.d/*; do
  if [ "${f##*/}" != 50-default.conf ]; then rm -rf "$f"; log "removed /etc/rsyslog.d/${f##*/}"; fi
done
install_if_changed 0644 "$chroot/etc/rsyslog.d/50-default.conf" < "$assets_dir/50-default.conf"
install_if_changed 0644 "$chroot/etc/logrotate.d/rsyslog" < "$assets_dir/logrotate"

# /var/log as Ubuntu ships it (root:syslog 0775) so rsyslogd and logrotate, both running as
# syslog, can create and rename files; the files rsyslog writes exist already, syslog's, 0600.
chroot "$chroot" chown root:syslog /var/log
chmod 0775 "$chroot/var/log"
mkdir -p "$chroot/var/log/news"
chroot "$chroot" chown root:syslog /var/log/news
chmod 0775 "$chroot/var/log/news"
for f in auth.log cron.log daemon.log debug kern.log lpr.log mail.err mail.info mail.log mail.warn \
  messages news/news.crit news/news.err news/news.notice syslog user.log; do
  [ -f "$chroot/var/log/$f" ] || : > "$chroot/var/log/$f"
  chroot "$chroot" chown syslog:syslog "/var/log/$f"
  chmod 0600 "$chroot/var/log/$f"
done
mkdir -p "$chroot/var/spool/rsyslog"
chroot "$chroot" chown syslog:adm /var/spool/rsyslog
chmod 0700 "$chroot/var/spool/rsyslog"

# rsyslogd starts only once /var/log is the mounted data-disk directory.
install_if_changed 0755 "$chroot/usr/local/bin/wait_for_var_log_to_be_mounted" < "$assets_dir/wait_for_var_log_to_be_mounted"
install_if_changed 0644 "$chroot/etc/systemd/system/rsyslog.service.d/10-wait-for-var-log.conf" < "$assets_dir/rsyslog-wait-for-var-log.conf"

# The journal in memory only; rsyslog keeps the files.
install_if_changed 0644 "$chroot/etc/systemd/journald.conf.d/50-bosh-volatile.conf" < "$assets_dir/journald-volatile.conf"

# Validation with the image's own tools: rsyslogd parses the whole configuration (and
# resolves the syslog user), logrotate parses its file in debug mode (nothing rotated),
# systemd verifies rsyslog.service with its drop-in and reads journald's merged settings.
run_in_chroot 'rsyslogd -N1 -f /etc/rsyslog.conf' >/dev/null 2>&1 ||
  fail "rsyslogd -N1 rejects the configuration: $(chroot "$chroot" rsyslogd -N1 -f /etc/rsyslog.conf 2>&1 | tr '\n' ' ')"
lr=$(run_in_chroot 'logrotate -d -s /dev/null /etc/logrotate.d/rsyslog 2>&1') || fail "logrotate rejects /etc/logrotate.d/rsyslog: $lr"
if grep -qi '^error' <<< "$lr"; then fail "logrotate: $(grep -i '^error' <<< "$lr" | tr '\n' ' ')"; fi
verify=$(run_in_chroot 'systemd-analyze verify rsyslog.service 2>&1') || fail "systemd-analyze verify rejects rsyslog.service: $verify"
run_in_chroot 'systemd-delta --no-pager --type=extended' | grep -q 'rsyslog\.service .*/etc/systemd/system/rsyslog\.service\.d/10-wait-for-var-log\.conf' ||
  fail "systemd does not see the rsyslog.service drop-in"
storage=$(run_in_chroot 'systemd-analyze cat-config systemd/journald.conf' | awk -F= '/^Storage=/ { v = $2 } END { print v }')
[ "$storage" = volatile ] || fail "journald's effective Storage is '$storage', not volatile"
log "rsyslog configuration accepted by rsyslogd -N1 and logrotate -d; rsyslogd runs as syslog ($id_out)"
