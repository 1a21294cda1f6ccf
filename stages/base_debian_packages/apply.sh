#!/usr/bin/env bash
# Installs the stemcell's Debian package set (os_packages), removes os_purge_packages, and
# leaves systemd-logind, systemd-networkd and systemd-resolved enabled and rsyslog's journal forwarding on.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/packages.bash"

install_package_set

# runit is installed for jobs that want it, but on a systemd line nothing runs under it at
# boot unless a later stage asks; the agent and monit get systemd units.
systemd_unit disable runit.service 2>/dev/null || true
systemd_unit enable systemd-networkd.service
# The agent, with ServiceManager systemd, writes its DNS servers for systemd-resolved and
# restarts it: the service must be there and running.
[ "${os_dns_resolver:-}" = systemd-resolved ] || fail "os_dns_resolver is '${os_dns_resolver:-}': Debian lines use systemd-resolved"
systemd_unit enable systemd-resolved.service
log "systemd-networkd and systemd-resolved enabled"
