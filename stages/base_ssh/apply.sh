#!/usr/bin/env bash
# Hardens sshd (no root or password logins, strong ciphers/MACs only, bosh_sshers only) and sets the legal banner.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

sshd_config="$chroot/etc/ssh/sshd_config"
[ -f "$sshd_config" ] || fail "$sshd_config is missing: openssh-server must be installed before $stage_name"

# set_config_line appends a key it does not find at the end of the file; after an active
# Match block that would make it apply to that block only.
if grep -Eqi '^[[:space:]]*Match[[:space:]]' "$sshd_config"; then
  fail "sshd_config has an active Match block; settings appended after it would only apply inside it"
fi

# Left out on purpose:
#   Protocol 2 - SSH-1 was removed in OpenSSH 7.4; sshd (9.2 on bookworm) parses the keyword
#                silently and ignores it (sshd -T does not list it), so it would only suggest
#                a setting that does nothing.
# Kept though dated:
#   Compression delayed - still accepted; since OpenSSH 7.4 "delayed" (compression only after
#                authentication) is the only compression there is, and sshd -T reports it as "yes".
settings=(
  "UseDNS no"
  "PermitRootLogin no"
  "X11Forwarding no"
  "MaxAuthTries 3"
  "PermitEmptyPasswords no"
  "HostbasedAuthentication no"
  "Banner /etc/issue.net"
  "IgnoreRhosts yes"
  "ClientAliveInterval 180"
  "ClientAliveCountMax 1"
  "LoginGraceTime 60"
  "Compression delayed"
  "PermitUserEnvironment no"
  "PasswordAuthentication no"
  "PrintLastLog yes"
  "AllowGroups bosh_sshers"
  "DenyUsers root"
  "Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"
  "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-512,hmac-sha2-256,umac-128@openssh.com"
)
for s in "${settings[@]}"; do
  set_config_line "$sshd_config" "${s%% *}" "${s#* }"
done

# No DSA: drop its host keys and any HostKey line (active or commented) naming one.
rm -f "$chroot"/etc/ssh/ssh_host_dsa_key "$chroot"/etc/ssh/ssh_host_dsa_key.pub
tmp=$(mktemp "$sshd_config.XXXXXX")
grep -Eiv '^[[:space:]]*#?[[:space:]]*HostKey[[:space:]]+[^[:space:]]*ssh_host_dsa_key' "$sshd_config" > "$tmp" || true
chmod --reference="$sshd_config" "$tmp"
chown --reference="$sshd_config" "$tmp"
mv "$tmp" "$sshd_config"

# sshd's configuration is root's alone (the reference's 0600).
chmod 0600 "$sshd_config"

write_file 0644 "$chroot/etc/issue" < "$assets_dir/issue"
write_file 0644 "$chroot/etc/issue.net" < "$assets_dir/issue.net"

# No distribution greeting after login: the banner above is the only text (CIS 11.1).
write_file 0644 "$chroot/etc/motd" < /dev/null

# Ubuntu fetches news into the login message; a stemcell must not call out on login.
motd_news="$chroot/etc/default/motd-news"
if [ -f "$motd_news" ]; then
  if grep -q '^ENABLED=' "$motd_news"; then
    sed -i 's/^ENABLED=.*/ENABLED=0/' "$motd_news"
  else
    printf 'ENABLED=0\n' >> "$motd_news"
  fi
  log "motd-news disabled"
fi

# Validate inside the chroot with the image's own sshd: -t checks syntax and host keys,
# -T prints the effective settings (after any Include), which must be ours.
# sshd refuses to run without its privilege separation directory (a tmpfs on a booted VM).
# shellcheck disable=SC2016 # the script is expanded inside the chroot
effective=$(run_in_chroot '
  made_run_sshd=0
  if [ ! -d /run/sshd ]; then mkdir -p /run/sshd; chmod 0755 /run/sshd; made_run_sshd=1; fi
  rc=0
  /usr/sbin/sshd -t -f /etc/ssh/sshd_config >&2 || rc=$?
  if [ "$rc" = 0 ]; then /usr/sbin/sshd -T -f /etc/ssh/sshd_config -C user=vcap,host=localhost,addr=127.0.0.1 || rc=$?; fi
  if [ "$made_run_sshd" = 1 ]; then rm -rf /run/sshd; fi
  exit "$rc"
') || fail "sshd rejects the hardened sshd_config (see sshd's message above)"

expect() {
  local key=$1 want=$2 got
  got=$(awk -v k="$key" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' <<< "$effective")
  [ "$got" = "$want" ] || fail "sshd's effective $key is '$got', expected '$want'"
}
for s in "${settings[@]}"; do
  key=$(tr '[:upper:]' '[:lower:]' <<< "${s%% *}")
  value=${s#* }
  case "$key" in
    compression) value=yes ;;
  esac
  expect "$key" "$value"
done
if grep -q 'ssh_host_dsa_key' <<< "$effective"; then fail "sshd still loads a DSA host key"; fi
log "sshd_config validated with sshd -t and sshd -T"
