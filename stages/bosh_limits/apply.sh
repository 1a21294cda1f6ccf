#!/usr/bin/env bash
# Forbids core dumps for every login (hard core limit 0) in limits.conf and a limits.d drop-in.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

limits="$chroot/etc/security/limits.conf"
[ -d "$chroot/etc/security" ] || fail "$chroot/etc/security is missing (libpam-modules not installed?)"
[ -f "$limits" ] || : > "$limits"

# Exactly one active "* hard core 0" line: drop any other active "* hard core" entry.
tmp=$(mktemp "$limits.XXXXXX")
awk '!($1 == "*" && $2 == "hard" && $3 == "core") { print }' "$limits" > "$tmp"
printf '%-15s %-7s %-15s %s\n' '*' hard core 0 >> "$tmp"
chmod 0644 "$tmp"
chown root:root "$tmp"
mv "$tmp" "$limits"

install -D -o root -g root -m 0644 "$assets_dir/60-bosh-core.conf" "$chroot/etc/security/limits.d/60-bosh-core.conf"
log "hard core limit 0 in /etc/security/limits.conf and limits.d/60-bosh-core.conf"
