#!/usr/bin/env bash
# Configures sysstat off (no sar data collected on a stemcell VM), in /etc/default/sysstat, debconf and the systemd units.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"

default_file=$(target /etc/default/sysstat)
[ -f "$default_file" ] || fail "$default_file is missing: sysstat must be installed before $stage_name"

# The package's own file, with collection off. The Debian and Ubuntu packages keep
# ENABLED in step with the debconf answer sysstat/enable, and the first-boot script runs
# dpkg-reconfigure sysstat: set both, so that reconfiguring keeps collection off.
write_file 0644 "$default_file" <<'SYSSTAT'
#
# Default settings for /etc/init.d/sysstat, /etc/cron.d/sysstat
# and /etc/cron.daily/sysstat files
#
# Written by stemforge (bosh_sysstat): a BOSH VM collects no system activity data by
# default (it would only fill /var/log). Keep debconf's sysstat/enable in step when
# changing it: dpkg-reconfigure sysstat rewrites this file from that answer.

# Should sadc collect system activity informations? Valid values
# are "true" and "false". Please do not put other values, they
# will be overwritten by debconf!
ENABLED="false"
SYSSTAT
debconf_answer() { run_in_chroot 'debconf-show sysstat' | awk -F': ' '$1 ~ /sysstat\/enable$/ { print $2 }'; }
if [ "$(debconf_answer)" != false ]; then
  printf 'sysstat sysstat/enable boolean false\n' | run_in_chroot 'debconf-set-selections'
fi

# Under systemd the cron job steps aside for sysstat-collect.timer, which runs sa1 whatever
# ENABLED says; the package only switches these units off on a running system (not in a
# chroot), so do it here.
units=()
for u in sysstat.service sysstat-collect.timer sysstat-summary.timer; do
  if [ -e "$chroot/lib/systemd/system/$u" ] || [ -e "$chroot/usr/lib/systemd/system/$u" ]; then units+=("$u"); fi
done
if [ "${#units[@]}" -gt 0 ]; then systemd_unit disable "${units[@]}"; fi

answer=$(debconf_answer)
[ "$answer" = false ] || fail "debconf's sysstat/enable is '$answer', expected false"
grep -qx 'ENABLED="false"' "$default_file" || fail "$default_file does not turn collection off"
log "sysstat collection off (ENABLED=\"false\", debconf false, disabled: ${units[*]:-no units})"
