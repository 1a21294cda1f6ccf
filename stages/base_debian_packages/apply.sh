#!/usr/bin/env bash
# Installs the stemcell's Debian package set (os_packages), removes os_purge_packages, and
# leaves systemd-logind and systemd-networkd enabled and rsyslog's journal forwarding on.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/packages.bash"

install_package_set

# runit is installed for jobs that want it, but on a systemd line nothing runs under it at
# boot unless a later stage asks; the agent and monit get systemd units.
systemd_unit disable runit.service 2>/dev/null || true
systemd_unit enable systemd-networkd.service
log "systemd-networkd enabled"
