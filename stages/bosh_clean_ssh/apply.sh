#!/usr/bin/env bash
# Deletes the image's SSH host keys, so that no two VMs share one; the first-boot hook makes each VM its own.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# Without the hook a VM would have no host keys at all and sshd would not start.
[ -x "$chroot/root/firstboot.sh" ] || fail "/root/firstboot.sh is missing: base_*_firstboot must have run in the OS image"
grep -q 'ssh-keygen' "$chroot/root/firstboot.sh" || fail "/root/firstboot.sh does not make SSH host keys"

keys=("$chroot"/etc/ssh/ssh_host_*)
rm -f "${keys[@]}"
left=("$chroot"/etc/ssh/ssh_host_*)
[ "${#left[@]}" -eq 0 ] || fail "SSH host keys left: ${left[*]}"
log "${#keys[@]} SSH host key files removed; /root/firstboot.sh makes new ones on each VM's first boot"
