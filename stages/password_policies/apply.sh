#!/usr/bin/env bash
# Enforces the password policy: no empty passwords, faillock after 3 failures, strong and remembered sha512 passwords, lastlog of failures, a day between changes.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/hardening.bash"

pamd="$chroot/etc/pam.d"
for f in common-auth common-account common-password login; do
  [ -f "$pamd/$f" ] || fail "/etc/pam.d/$f is missing"
done
moddir=$(pam_module_dir)
[ -e "$moddir/pam_faillock.so" ] || fail "pam_faillock.so is not in the chroot (libpam-modules too old?)"

# The common-* files are pam-auth-update's. Edited by hand, pam-auth-update keeps them as
# they are from now on (it only rewrites files it generated itself, unless --force).

# No empty passwords anywhere.
for f in "$pamd"/*; do
  if [ -f "$f" ]; then pam_remove_nullok "$f"; fi
done

# faillock: 3 failures within 15 minutes lock the account for 7 days (604800 s).
# preauth before pam_unix refuses a locked account; authfail, reached only when pam_unix
# fails (pam_edit moves pam_unix's success jump past it), counts the failure; the account
# phase clears the count after a successful login.
faillock_args='deny=3 unlock_time=604800 fail_interval=900'
pam_edit "$pamd/common-auth" drop auth pam_faillock.so
pam_edit "$pamd/common-auth" first auth - "auth	required			pam_faillock.so preauth silent $faillock_args"
pam_edit "$pamd/common-auth" after auth pam_unix.so "auth	[default=die]			pam_faillock.so authfail $faillock_args"
pam_edit "$pamd/common-account" drop account pam_faillock.so
pam_edit "$pamd/common-account" first account - "account	required			pam_faillock.so"

# Password quality: pam_cracklib on Jammy (libpam-cracklib), pam_pwquality on Noble and
# Debian (libpam-pwquality); both take the same options. The one common-password already
# uses wins if both are installed; the other one is removed from the stack.
quality_args='retry=3 minlen=14 dcredit=-1 ucredit=-1 lcredit=-1 ocredit=-1 difok=8'
quality=''
for m in pam_pwquality.so pam_cracklib.so; do
  if [ -e "$moddir/$m" ] && pam_has_rule "$pamd/common-password" password "$m"; then quality=$m; break; fi
done
if [ -z "$quality" ]; then
  for m in pam_pwquality.so pam_cracklib.so; do
    if [ -e "$moddir/$m" ]; then quality=$m; break; fi
  done
fi
[ -n "$quality" ] || fail "neither pam_pwquality.so nor pam_cracklib.so is installed (libpam-pwquality or libpam-cracklib)"
for m in pam_pwquality.so pam_cracklib.so; do
  if [ "$m" != "$quality" ]; then pam_edit "$pamd/common-password" drop password "$m"; fi
done
if pam_has_rule "$pamd/common-password" password "$quality"; then
  pam_edit "$pamd/common-password" args password "$quality" "$quality_args"
else
  pam_edit "$pamd/common-password" before password pam_unix.so "password	requisite			$quality $quality_args"
fi
log "password quality with $quality: $quality_args"

# pam_unix: sha512 hashes (not the release's yescrypt default), the last 24 passwords
# remembered in /etc/security/opasswd, at least 14 characters.
pam_edit "$pamd/common-password" args password pam_unix.so "sha512 remember=24 minlen=14" \
  "md5 bigcrypt sha256 blowfish gost_yescrypt yescrypt rounds"
opasswd="$chroot/etc/security/opasswd"
if [ ! -f "$opasswd" ]; then install -o root -g root -m 0600 /dev/null "$opasswd"; fi

# login: show failed attempts since the last login; 4 s delay after a failed login.
if pam_has_rule "$pamd/login" session pam_lastlog.so; then
  pam_edit "$pamd/login" args session pam_lastlog.so showfailed
else
  [ -e "$moddir/pam_lastlog.so" ] || fail "pam_lastlog.so is not in the chroot; cannot show failed logins"
  pam_edit "$pamd/login" last session - "session    optional   pam_lastlog.so showfailed"
fi
if pam_has_rule "$pamd/login" auth pam_faildelay.so; then
  pam_edit "$pamd/login" args auth pam_faildelay.so delay=4000000
fi

# A day between password changes: login.defs for accounts made from now on, chage for
# vcap, which bosh_users made already.
# (chage only when needed: each run would otherwise rewrite shadow and its backup.)
set_active_key "$chroot/etc/login.defs" PASS_MIN_DAYS 1
vcap_min_days=$(awk -F: '$1 == "vcap" { print $4; found = 1 } END { if (!found) print "missing" }' "$chroot/etc/shadow")
[ "$vcap_min_days" != missing ] || fail "vcap is missing: bosh_users must run before $stage_name"
if [ "$vcap_min_days" != 1 ]; then run_in_chroot 'chage --mindays 1 vcap'; fi

# Validation. Every module the stacks name must be there, and the stacks must work: su
# (run as vcap) takes the real root password through common-auth/-account/-session, and a
# wrong one must reach pam_faillock's authfail (the tally shows it). It all happens in
# run_in_chroot's private mount namespace: /run and /var/log are tmpfs there (neither the
# tally nor su's btmp record stays in the image), and su's own service file is replaced
# by one that has only the common stacks, so restrict_su_command's pam_wheel rule (on a
# re-run) does not decide the result.
pam_check_modules
for f in "$pamd"/*; do
  if grep -v '^[[:space:]]*#' "$f" | grep -Eq '[[:space:]]nullok'; then fail "nullok left in ${f#"$chroot"}"; fi
done
su_test_setup='
  mount -t tmpfs tmpfs /run
  mount -t tmpfs tmpfs /var/log
  printf "%s\n" "auth sufficient pam_rootok.so" "@include common-auth" "@include common-account" "@include common-session" > /run/su
  mount --bind /run/su /etc/pam.d/su
'
printf '%s\n' "$bosh_users_password" | run_in_chroot "$su_test_setup"'
  runuser -u vcap -- su -c true root
' >/dev/null 2>&1 || fail "su with the right root password fails: the PAM stacks are broken"
tally=$(printf 'not-the-password\n' | run_in_chroot "$su_test_setup"'
  if runuser -u vcap -- su -c true root >/dev/null 2>&1; then echo "ACCEPTED"; exit 0; fi
  faillock --user root | grep -c "^[0-9]" || true
') || fail "could not test a wrong password"
[ "$tally" != ACCEPTED ] || fail "su accepted a wrong password"
[ "$tally" = 1 ] || fail "a failed su left $tally faillock records for root, expected 1"
log "PAM stacks validated: modules present, su accepts the right password, a wrong one is counted by faillock"
