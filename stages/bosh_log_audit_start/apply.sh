#!/usr/bin/env bash
# Installs /var/vcap/bosh/bin/bosh-start-logging-and-auditing, which the agent runs to start rsyslog and auditd once /var/log is mounted.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"

script="$bosh_bin_dir/bosh-start-logging-and-auditing"
ensure_bosh_dirs
file=$(target "$script")
write_file 0755 "$file" < "$assets_dir/bosh-start-logging-and-auditing"
chown root:root "$file"
check_script "$script"

# rsyslog is installed by the package stage; auditd by bosh_audit_<distro>, which may run
# before or after this stage (the script looks for it when it runs, not here).
[ -e "$chroot/lib/systemd/system/rsyslog.service" ] || [ -e "$chroot/usr/lib/systemd/system/rsyslog.service" ] \
  || log "warning: rsyslog is not installed yet; the script will skip it"
log "$script installed"
