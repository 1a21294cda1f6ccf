#!/usr/bin/env bash
# Creates the BOSH groups and the vcap user, sets root/vcap passwords and installs the BOSH sudoers policy.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

[ -x "$chroot/usr/sbin/visudo" ] || fail "sudo must be installed in the chroot before $stage_name"

vcap_groups=(admin adm audio cdrom dialout floppy video bosh_sshers dip plugdev)

# Groups, then vcap (uid 1000, group vcap). On a re-run the user is brought back to this
# shape with usermod instead of being created again.
run_in_chroot "
  groups=(admin bosh_sshers bosh_sudoers $(printf '%q ' "${vcap_groups[@]}"))
  for g in \"\${groups[@]}\"; do
    getent group \"\$g\" >/dev/null || groupadd --system \"\$g\"
  done
  if ! getent group vcap >/dev/null; then
    if getent group 1000 >/dev/null; then groupadd vcap; else groupadd --gid 1000 vcap; fi
  fi
  supplementary=$(IFS=,; printf '%q' "${vcap_groups[*]}")
  if getent passwd vcap >/dev/null; then
    usermod --gid vcap --groups \"\$supplementary\" --shell /bin/bash --home /home/vcap vcap
  else
    useradd --uid 1000 --gid vcap --groups \"\$supplementary\" --shell /bin/bash \
      --home-dir /home/vcap --create-home --comment 'BOSH System User' vcap
  fi
  [ \"\$(id -u vcap)\" = 1000 ] || { echo \"vcap has uid \$(id -u vcap), not 1000\" >&2; exit 1; }
"

# Passwords: the clear text goes only through a pipe (printf is a bash builtin, so it is
# never in any process's argument list) into chpasswd's standard input inside the chroot;
# run_in_chroot passes stdin through. No temp file holds it, not even briefly.
printf 'root:%s\nvcap:%s\n' "$bosh_users_password" "$bosh_users_password" \
  | run_in_chroot 'chpasswd --crypt-method SHA512'
for u in root vcap; do
  hash=$(awk -F: -v u="$u" '$1 == u { print $2 }' "$chroot/etc/shadow")
  # shellcheck disable=SC2016 # a literal sha512 crypt prefix
  [[ $hash == '$6$'* ]] || fail "the password of $u is not a sha512 crypt hash"
done
log "root and vcap passwords set (sha512 crypt)"

# Lock every group password: no one may newgrp into a group with a password.
gshadow="$chroot/etc/gshadow"
tmp=$(mktemp "$gshadow.XXXXXX")
awk 'BEGIN { FS = OFS = ":" } $2 !~ /^[!*]/ { $2 = "!" $2 } { print }' "$gshadow" > "$tmp"
chmod --reference="$gshadow" "$tmp"
chown --reference="$gshadow" "$tmp"
mv "$tmp" "$gshadow"
unlocked=$(awk -F: '$2 !~ /^[!*]/ { print $1 }' "$gshadow")
[ -z "$unlocked" ] || fail "group passwords still unlocked: $unlocked"

# The shadow tools rewrite these files; keep base_file_permission's root:root 0000 on them.
for f in shadow gshadow shadow- gshadow-; do
  if [ -f "$chroot/etc/$f" ]; then chown root:root "$chroot/etc/$f"; chmod 0000 "$chroot/etc/$f"; fi
done

# sudoers: validate a candidate inside the chroot, then move it into place, so a broken
# file never becomes /etc/sudoers.
install -o root -g root -m 0440 "$assets_dir/sudoers" "$chroot/etc/sudoers.stemforge-new"
if ! run_in_chroot 'visudo -c -f /etc/sudoers.stemforge-new'; then
  rm -f "$chroot/etc/sudoers.stemforge-new"
  fail "visudo rejects assets/sudoers"
fi
mv "$chroot/etc/sudoers.stemforge-new" "$chroot/etc/sudoers"
mkdir -p "$chroot/etc/sudoers.d"
run_in_chroot 'visudo -c' >/dev/null || fail "visudo rejects /etc/sudoers together with /etc/sudoers.d"
log "/etc/sudoers installed (0440) and validated"

# PATH and prompt: one marked block per .bashrc, replaced on every run.
begin='# >>> stemforge bosh_users >>>'
end='# <<< stemforge bosh_users <<<'
set_bashrc_block() {
  local file=$1 owner=$2 tmp
  if [ ! -f "$file" ]; then
    if [ -f "$chroot/etc/skel/.bashrc" ]; then cp "$chroot/etc/skel/.bashrc" "$file"; else : > "$file"; fi
  fi
  tmp=$(mktemp "$file.XXXXXX")
  awk -v b="$begin" -v e="$end" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$file" > "$tmp"
  { printf '%s\n' "$begin"; cat "$assets_dir/bashrc-bosh"; printf '%s\n' "$end"; } >> "$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$file"
  chroot "$chroot" chown "$owner" "${file#"$chroot"}"
}
install -D -o root -g root -m 0644 "$assets_dir/00-bosh-ps1" "$chroot/etc/profile.d/00-bosh-ps1"
# skel first: the users the agent makes for bosh ssh get the same PATH and prompt
set_bashrc_block "$chroot/etc/skel/.bashrc" root:root
set_bashrc_block "$chroot/root/.bashrc" root:root
set_bashrc_block "$chroot/home/vcap/.bashrc" vcap:vcap
# vcap's home is vcap's alone
chmod 0700 "$chroot/home/vcap"
log "vcap: $(chroot "$chroot" id vcap)"
