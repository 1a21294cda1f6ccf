#!/usr/bin/env bash
# Installs open-iscsi for SoftLayer's iSCSI persistent disks, with no initiator name baked into the image.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

install_packages open-iscsi

# Every VM needs its own initiator name (the agent writes the one from its settings). If
# the package's install left a fixed name, it is replaced by the request to generate one
# when iscsid first starts.
name_file=$(target /etc/iscsi/initiatorname.iscsi)
if [ -f "$name_file" ] && grep -Eq '^[[:space:]]*InitiatorName=' "$name_file"; then
  printf '# Written by stemforge (system_softlayer_open_iscsi): a name is generated on first start;\n# the BOSH agent writes the one from its settings.\nGenerateName=yes\n' \
    | write_file 0600 "$name_file"
  log "the initiator name made at install time was dropped"
fi
if [ -f "$name_file" ] && grep -Eq '^[[:space:]]*InitiatorName=' "$name_file"; then fail "the image carries a fixed iSCSI initiator name"; fi

# The Xenial-era reference patched open-iscsi.service; on these releases the packaged units
# are used as they are: iscsid and the session login service start at boot.
for unit in iscsid.socket open-iscsi.service; do
  if unit_file_exists "$unit"; then
    chroot "$chroot" systemctl is-enabled --quiet "$unit" || systemd_unit enable "$unit"
    chroot "$chroot" systemctl is-enabled --quiet "$unit" || fail "$unit is not enabled"
  fi
done
chroot "$chroot" iscsiadm --version > /dev/null || fail "iscsiadm does not run"
log "open-iscsi $(package_version open-iscsi); no fixed initiator name"
