#!/usr/bin/env bash
# Installs the stemcell's Ubuntu package set (os_packages) and removes os_purge_packages
# (netplan.io among them: BOSH configures the network itself), then sets the boot services
# the reference sets: logind and networkd on, resolved off, runit's runsvdir on Jammy.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/packages.bash"

install_package_set

systemd_unit enable systemd-logind.service systemd-networkd.service
systemd_unit disable systemd-resolved.service

if [ "$os_service_manager" = runit ]; then
  # Jammy supervises monit and the agent with runit: start runsvdir from systemd, over
  # /etc/service, with a start script later stages (delay_monit_start) can extend.
  write_file 0755 "$chroot/usr/sbin/runsvdir-start" <<'SH'
#!/bin/sh
# Written by stemforge (base_ubuntu_packages): runit's supervision tree for BOSH services.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec env - PATH="$PATH" runsvdir -P /etc/service 'log: ...........................................................................................................................................................................................................................................................................................................................................................................................................'
SH
  systemd_unit enable runit.service
  log "runit.service enabled with /usr/sbin/runsvdir-start"
fi
