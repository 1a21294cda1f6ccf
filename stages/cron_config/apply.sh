#!/usr/bin/env bash
# Spreads anacron's start over 60 minutes, builds the man-db index once instead of daily, and turns off apt's periodic jobs.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/hardening.bash"

# anacron: RANDOM_DELAY=60 (minutes added at random to each job's delay) so the VMs of a
# deployment do not all run their daily jobs at the same moment. It is an assignment, so
# it goes with the others, before the first job line.
anacrontab="$chroot/etc/anacrontab"
[ -f "$anacrontab" ] || fail "/etc/anacrontab is missing: anacron must be installed before $stage_name"
tmp=$(mktemp "$anacrontab.XXXXXX")
awk '
  /^[ \t]*RANDOM_DELAY[ \t]*=/ { next }
  { line[++n] = $0 }
  /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ { last_assign = n }
  END {
    if (!last_assign) { print "RANDOM_DELAY=60" }
    for (i = 1; i <= n; i++) { print line[i]; if (i == last_assign) print "RANDOM_DELAY=60" }
  }
' "$anacrontab" > "$tmp"
replace_if_changed "$tmp" "$anacrontab"
run_in_chroot 'anacron -T' || fail "anacron -T rejects /etc/anacrontab"

# man-db: its daily and weekly jobs rebuild the manual page index, which is costly the first
# time and useless afterwards on a VM where nobody installs packages (a package install
# updates the index through man-db's dpkg trigger anyway). Build it once now; then remove
# the cron jobs and, where systemd runs them instead, mask man-db.timer (a mask survives
# package upgrades, a removed unit would not).
if [ -x "$chroot/usr/bin/mandb" ]; then
  run_in_chroot 'mandb --quiet' || fail "mandb failed"
  log "man-db index built ($(find "$chroot/var/cache/man" -name 'index.*' | wc -l) index files)"
fi
rm -f "$chroot/etc/cron.daily/man-db" "$chroot/etc/cron.weekly/man-db" "$chroot/etc/cron.daily/man-db.cron"
if [ -f "$chroot/usr/lib/systemd/system/man-db.timer" ] || [ -f "$chroot/lib/systemd/system/man-db.timer" ]; then
  systemd_unit mask man-db.timer
fi

# apt: no periodic list updates, downloads, upgrades or cleaning on a stemcell (its
# packages only change with a new stemcell). apt.systemd.daily, which apt-daily.timer and
# apt-daily-upgrade.timer run, reads these and does nothing; the timers stay as shipped.
# apt reads apt.conf.d in name order and the last value wins, so the file sorts last (the
# reference's 02periodic would lose to e.g. unattended-upgrades' 20auto-upgrades).
install_if_changed 0644 "$chroot/etc/apt/apt.conf.d/99bosh-periodic" <<'EOF'
// stemforge (cron_config): no periodic apt work on a stemcell.
APT::Periodic::Enable "0";
APT::Periodic::Update-Package-Lists "0";
APT::Periodic::Download-Upgradeable-Packages "0";
APT::Periodic::Unattended-Upgrade "0";
APT::Periodic::AutocleanInterval "0";
APT::Periodic::CleanInterval "0";
EOF
periodic=$(run_in_chroot 'apt-config dump APT::Periodic') || fail "apt-config cannot read the apt configuration"
for key in Enable Update-Package-Lists Download-Upgradeable-Packages Unattended-Upgrade AutocleanInterval; do
  # the last value apt reads wins; it must be ours ("0")
  value=$(awk -v k="APT::Periodic::$key" '$1 == k { v = $2 } END { print v }' <<< "$periodic")
  [ "$value" = '"0";' ] || fail "apt's APT::Periodic::$key is $value, expected \"0\" (another apt.conf.d file overrides 99bosh-periodic?)"
done
log "anacron RANDOM_DELAY=60; man-db cron jobs removed; APT::Periodic off"
