#!/usr/bin/env bash
# Lets root log in over SSH and drops the AllowGroups/DenyUsers limits (SoftLayer: its provisioning logs in as root).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

# As the reference: PermitRootLogin yes, and no AllowGroups or DenyUsers line, which would
# keep root (not in bosh_sshers, named by DenyUsers root) out anyway.
sshd_config=$(sshd_config_file)
remove_config_lines "$sshd_config" AllowGroups DenyUsers
set_config_line "$sshd_config" PermitRootLogin yes

effective=$(sshd_effective) || fail "sshd rejects its configuration (see above)"
grep -qx 'permitrootlogin yes' <<< "$effective" || fail "sshd's effective PermitRootLogin is not yes"
if grep -Eq '^(allowgroups|denyusers) ' <<< "$effective"; then
  fail "sshd still limits logins: $(grep -E '^(allowgroups|denyusers) ' <<< "$effective" | tr '\n' ' ')"
fi
log "sshd: PermitRootLogin yes, no AllowGroups/DenyUsers"
