#!/usr/bin/env bash
# Installs auditd (not started at boot; the BOSH logging script starts it) with the stemcell's audit rules loaded through augenrules.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/hardening.bash"

[ "$os_distro" = ubuntu ] || fail "$stage_name is for ubuntu images, this is $os_distro"
# All of it is shared with bosh_audit_debian (lib/hardening.bash); the two stages only keep
# the reference's per-OS stage names.
bosh_audit_apply
