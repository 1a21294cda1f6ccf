#!/usr/bin/env bash
# Turns sshd's password authentication back on (vSphere, vCloud, SoftLayer: operators log in with the vcap password).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

sshd_config=$(sshd_config_file)
set_config_line "$sshd_config" PasswordAuthentication yes

# The effective value counts: a drop-in read through Include earlier would win.
effective=$(sshd_effective) || fail "sshd rejects its configuration (see above)"
grep -qx 'passwordauthentication yes' <<< "$effective" \
  || fail "sshd's effective PasswordAuthentication is not yes (a file under /etc/ssh/sshd_config.d overrides it?)"
log "sshd: PasswordAuthentication yes"
