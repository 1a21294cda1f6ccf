#!/usr/bin/env bash
# Installs the stemcell's Ubuntu package set (os_packages) and removes os_purge_packages
# (netplan.io among them: BOSH configures the network itself), then sets the boot services:
# logind and networkd on, the line's name service, our runit.service on Jammy.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/packages.bash"
source "$lib_dir/bosh.bash"

install_package_set

systemd_unit enable systemd-logind.service systemd-networkd.service

# The name service the agent drives (os_dns_resolver): systemd-resolved on systemd lines
# (Noble); resolvconf on runit lines (Jammy), fed by networkd's DHCP servers through a
# path unit, as networkd alone writes only its own state.
case "${os_dns_resolver:-}" in
  systemd-resolved)
    systemd_unit enable systemd-resolved.service
    run_in_chroot 'rm -f /etc/systemd/system/networkd-dns-to-resolvconf.path /etc/systemd/system/networkd-dns-to-resolvconf.service /usr/libexec/stemforge/networkd-dns-to-resolvconf'
    ;;
  resolvconf)
    systemd_unit disable systemd-resolved.service
    bridge=$(target /usr/libexec/stemforge/networkd-dns-to-resolvconf)
    mkdir -p "$(dirname "$bridge")"
    write_file 0755 "$bridge" < "$assets_dir/networkd-dns-to-resolvconf"
    check_script /usr/libexec/stemforge/networkd-dns-to-resolvconf
    for unit in networkd-dns-to-resolvconf.path networkd-dns-to-resolvconf.service; do
      write_file 0644 "$(target "/etc/systemd/system/$unit")" < "$assets_dir/$unit"
    done
    systemd_unit enable networkd-dns-to-resolvconf.path networkd-dns-to-resolvconf.service
    ;;
  *) fail "os_dns_resolver is '${os_dns_resolver:-}', expected systemd-resolved or resolvconf" ;;
esac

if [ "$os_service_manager" = runit ]; then
  # Jammy supervises monit and the agent with runit: start runsvdir from our own
  # runit.service, over /etc/service, with a start script later stages (delay_monit_start)
  # can extend.
  write_file 0755 "$chroot/usr/sbin/runsvdir-start" <<'SH'
#!/bin/sh
# Written by stemforge (base_ubuntu_packages): runit's supervision tree for BOSH services.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec env - PATH="$PATH" runsvdir -P /etc/service 'log: ...........................................................................................................................................................................................................................................................................................................................................................................................................'
SH
  write_file 0644 "$(target /etc/systemd/system/runit.service)" < "$assets_dir/runit.service"
  systemd_unit enable runit.service
  log "runit.service (ours) enabled with /usr/sbin/runsvdir-start"
else
  run_in_chroot 'rm -f /etc/systemd/system/runit.service'
fi
