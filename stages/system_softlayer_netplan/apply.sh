#!/usr/bin/env bash
# Installs netplan.io again for SoftLayer (the OS image purges it), as the reference's SoftLayer stemcells carry it, and checks it renders.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

install_packages netplan.io
# netplan renders a sample configuration into a scratch root, as it would at boot.
# shellcheck disable=SC2016 # expanded inside the chroot
run_in_chroot '
  root=$(mktemp -d /tmp/stemforge-netplan.XXXXXX)
  trap "rm -rf \"\$root\"" EXIT
  mkdir -p "$root/etc/netplan"
  printf "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth0:\n      dhcp4: true\n" > "$root/etc/netplan/50-sample.yaml"
  chmod 0600 "$root/etc/netplan/50-sample.yaml"
  netplan generate --root-dir "$root"
  ls "$root"/run/systemd/network/*eth0.network > /dev/null
' || fail "netplan cannot render a configuration"
log "netplan.io $(package_version netplan.io) installed"
