#!/usr/bin/env bash
# Makes /etc/sudoers include /etc/sudoers.d exactly once, at its end, validated with the image's visudo before it is put in place.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"

sudoers=$(target /etc/sudoers)
[ -f "$sudoers" ] || fail "$sudoers is missing: sudo must be installed before $stage_name"
[ -x "$chroot/usr/sbin/visudo" ] || fail "visudo is missing: sudo must be installed before $stage_name"
sudoers_d=$(target /etc/sudoers.d/README)
install -d -o root -g root -m 0755 "$(dirname "$sudoers_d")"

# Both spellings include the directory ("@includedir" since sudo 1.9.1, "#includedir"
# before); keep the one the file uses (the reference's is "#includedir"). Every such line
# is dropped and one goes at the end, where rules from /etc/sudoers.d override the file's.
include_re='^[#@]includedir[[:space:]]+/etc/sudoers\.d/?[[:space:]]*$'
directive=$(grep -Eo -m 1 "$include_re" "$sudoers" | cut -c1) || true
[ -n "$directive" ] || directive='#'
candidate=$(target /etc/sudoers.stemforge-new)
{
  grep -Ev "$include_re" "$sudoers" | awk '{ lines[NR] = $0 } END { n = NR; while (n > 0 && lines[n] ~ /^[[:space:]]*$/) n--; for (i = 1; i <= n; i++) print lines[i] }'
  printf '\n%sincludedir /etc/sudoers.d\n' "$directive"
} > "$candidate"
chown root:root "$candidate"
chmod 0440 "$candidate"

if ! run_in_chroot 'visudo -c -q -f /etc/sudoers.stemforge-new'; then
  rm -f "$candidate"
  fail "visudo rejects the new /etc/sudoers"
fi
mv "$candidate" "$sudoers"
run_in_chroot 'visudo -c -q' || fail "visudo rejects /etc/sudoers together with /etc/sudoers.d"
[ "$(grep -Ec "$include_re" "$sudoers")" = 1 ] || fail "/etc/sudoers must include /etc/sudoers.d exactly once"
log "/etc/sudoers ends with '${directive}includedir /etc/sudoers.d' (validated with visudo)"
