#!/usr/bin/env bash
# Leaves chrony without time sources of its own (the agent's sync-time sets them), adds the sync-time script and a chrony.service drop-in.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"

conf=$(target /etc/chrony/chrony.conf)
conf_dir=$(target /etc/chrony/conf.d/bosh.conf)
conf_dir=$(dirname "$conf_dir")
sources_dir=$(target /etc/chrony/sources.d/bosh.sources)
sources_dir=$(dirname "$sources_dir")
[ -f "$conf" ] || fail "$conf is missing: chrony must be installed before $stage_name"

# No pool or server of the distribution's: a BOSH VM uses the servers its manifest names,
# which the agent writes to /var/vcap/bosh/etc/ntpserver and sync-time turns into
# /etc/chrony/sources.d/bosh.sources. Newer Ubuntu keeps its pools in sources.d or conf.d
# files: their source lines go too. The sourcedir line that reads our file must stay.
rm -f "$sources_dir/bosh.sources"
drop_sources() {
  local file=$1 tmp
  grep -Eq '^[[:space:]]*(pool|server|peer)[[:space:]]' "$file" || return 0
  tmp=$(mktemp "$file.XXXXXX")
  grep -Ev '^[[:space:]]*(pool|server|peer)[[:space:]]' "$file" > "$tmp" || true
  chmod --reference="$file" "$tmp"
  chown --reference="$file" "$tmp"
  mv "$tmp" "$file"
  log "dropped the time sources of ${file#"$chroot"}"
}
for f in "$conf" "$conf_dir"/*.conf "$sources_dir"/*.sources; do drop_sources "$f"; done
if ! grep -Eq '^[[:space:]]*sourcedir[[:space:]]+/etc/chrony/sources\.d/?[[:space:]]*$' "$conf"; then
  printf '\n# Written by stemforge (bosh_ntp): the servers sync-time writes.\nsourcedir /etc/chrony/sources.d\n' >> "$conf"
fi
install -d -o root -g root -m 0755 "$sources_dir"

ensure_bosh_dirs
file=$(target "$bosh_bin_dir/sync-time")
write_file 0755 "$file" < "$assets_dir/sync-time"
check_script "$bosh_bin_dir/sync-time"

file=$(target /etc/systemd/system/chrony.service.d/bosh.conf)
write_file 0644 "$file" < "$assets_dir/chrony-bosh.conf"

# The image's chronyd parses the result (-p prints the configuration and exits).
# It does not expand sourcedir files, so those are checked by hand.
parsed=$(run_in_chroot 'chronyd -p -f /etc/chrony/chrony.conf' 2>&1) || fail "chronyd rejects chrony.conf: $parsed"
if grep -Eq '^(pool|server|peer) ' <<< "$parsed"; then fail "chrony.conf still has time sources: $parsed"; fi
for f in "$sources_dir"/*.sources; do
  if grep -Eq '^[[:space:]]*(pool|server|peer)[[:space:]]' "$f"; then fail "${f#"$chroot"} still has time sources"; fi
done
log "chrony: no built-in time sources; $bosh_bin_dir/sync-time; chrony.service.d/bosh.conf"
