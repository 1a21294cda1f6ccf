#!/usr/bin/env bash
# Installs multipath-tools: SoftLayer's iSCSI disks come over several paths and the agent resolves them through device-mapper multipath.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

install_packages multipath-tools
chroot "$chroot" systemctl is-enabled --quiet multipathd.service || systemd_unit enable multipathd.service
chroot "$chroot" systemctl is-enabled --quiet multipathd.service || fail "multipathd.service is not enabled"
# multipath -t prints the configuration it would run with (built-in defaults plus
# /etc/multipath.conf); it must parse.
run_in_chroot 'multipath -t > /dev/null' || fail "multipath rejects its configuration"
log "multipath-tools $(package_version multipath-tools); multipathd enabled"
