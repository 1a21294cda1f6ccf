#!/usr/bin/env bash
# Installs the BOSH kernel parameters (network hardening, no IPv6, ASLR, keepalive, neighbour table) into /etc/sysctl.d.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# Only written into the image: never applied to the build machine.
for name in 60-bosh-sysctl.conf 60-bosh-sysctl-neigh-fix.conf; do
  src="$assets_dir/$name"
  bad=$(grep -Env '^[[:space:]]*(#.*)?$|^[a-z0-9_.]+[[:space:]]*=[[:space:]]*[^[:space:]]+$' "$src" || true)
  [ -z "$bad" ] || fail "$name has malformed lines: $bad"
  install -D -o root -g root -m 0644 "$src" "$chroot/etc/sysctl.d/$name"
  log "/etc/sysctl.d/$name: $(grep -c '=' "$src") settings"
done
