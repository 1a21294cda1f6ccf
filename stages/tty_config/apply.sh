#!/usr/bin/env bash
# Restricts root console logins to the terminals in /etc/securetty and makes login enforce it.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/hardening.bash"

# The reference only trims the securetty its release shipped (dropping the vc/* lines).
# Debian 12 ships no /etc/securetty and its /etc/pam.d/login no longer calls pam_securetty,
# so a file alone would be read by nothing: we install our own (assets/securetty: the
# console only, as the reference's specs demand) on every line and make sure login's stack checks it, as Jammy's does already.
install_if_changed 0644 "$chroot/etc/securetty" < "$assets_dir/securetty"

login_pam="$chroot/etc/pam.d/login"
[ -f "$login_pam" ] || fail "/etc/pam.d/login is missing"
[ -e "$(pam_module_dir)/pam_securetty.so" ] || fail "pam_securetty.so is not in the chroot"
if ! pam_has_rule "$login_pam" auth pam_securetty.so; then
  # Jammy's own rule: root on an unlisted terminal dies here; unknown users are treated as
  # bad without revealing it before the password prompt.
  rule='auth [success=ok new_authtok_reqd=ok ignore=ignore user_unknown=bad default=die] pam_securetty.so'
  if pam_has_rule "$login_pam" auth pam_faildelay.so; then
    pam_edit "$login_pam" after auth pam_faildelay.so "$rule"
  else
    pam_edit "$login_pam" first auth - "$rule"
  fi
  log "pam_securetty added to /etc/pam.d/login"
fi

pam_check_modules
if grep -v '^#' "$chroot/etc/securetty" | grep -Eq '^(vc/|pts)'; then fail "/etc/securetty lists vc/* or pts"; fi
log "root may log in on: $(grep -v -e '^#' -e '^$' "$chroot/etc/securetty" | tr '\n' ' ')"
