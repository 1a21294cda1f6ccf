#!/usr/bin/env bash
# Limits su to the members of the sudo group (pam_wheel use_uid) and puts vcap in that group.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/hardening.bash"

su_pam="$chroot/etc/pam.d/su"
[ -f "$su_pam" ] || fail "/etc/pam.d/su is missing"
[ -e "$(pam_module_dir)/pam_wheel.so" ] || fail "pam_wheel.so is not in the chroot"
pam_has_rule "$su_pam" auth pam_rootok.so || fail "/etc/pam.d/su has no pam_rootok rule to put pam_wheel after"

# Which group: the reference adds "auth required pam_wheel.so use_uid" without group=, so
# pam_wheel falls back to the group "wheel" and, as Debian and Ubuntu have none, to gid 0
# (root), while it puts vcap in "sudo"; that membership then does nothing for su. We name
# the group: su is limited to the members of "sudo", i.e. vcap (who still needs root's
# password). Our sudoers grants the sudo group nothing, so sudo rights do not change.
# use_uid: the caller's real uid is checked, not the (possibly spoofed) login name.
# The rule goes right after pam_rootok (root itself is not limited) and before the
# password prompt of common-auth, as in the commented example Debian and Ubuntu ship.
group=sudo
chroot "$chroot" getent group "$group" >/dev/null || fail "group $group does not exist in the chroot"
pam_edit "$su_pam" drop auth pam_wheel.so
pam_edit "$su_pam" after auth pam_rootok.so "auth       required   pam_wheel.so use_uid group=$group"

run_in_chroot "usermod --append --groups $group vcap" || fail "could not add vcap to $group (bosh_users must run first)"
members=$(awk -F: -v g="$group" '$1 == g { print $4 }' "$chroot/etc/group")
[[ ,$members, == *,vcap,* ]] || fail "vcap is not in the $group group"

# Validation: the stack loads and does what it says. Given root's real password (through
# a pipe, never an argument), su works for vcap and is refused for nobody, who is not in
# the group. (su's message is "Permission denied" for any failure, so only the right
# password tells pam_wheel's refusal apart from a wrong password.) /run and /var/log are
# private tmpfs here, so no faillock tally or btmp record stays in the image.
pam_check_modules
su_as() {
  printf '%s\n' "$bosh_users_password" | run_in_chroot "
    mount -t tmpfs tmpfs /run
    mount -t tmpfs tmpfs /var/log
    runuser -u $1 -- su -c true root
  " >/dev/null 2>&1
}
su_as vcap || fail "su with root's password fails for vcap, a member of $group"
if su_as nobody; then fail "su with root's password works for nobody, who is not in $group"; fi
log "su limited to the $group group (members: $members): works for vcap, refused to nobody"
