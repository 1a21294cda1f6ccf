#!/usr/bin/env bash
# Makes chrony use the Hyper-V host clock (PTP device /dev/ptp_hyperv) as a reference clock on Azure.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# Deviation: the reference names /dev/ptp0. With accelerated networking the NIC can bring
# its own PTP clocks and ptp0 may not be Hyper-V's; Azure's documented name is
# /dev/ptp_hyperv, which a udev rule (systemd's own on newer releases, ours otherwise) makes.
conf=$(target /etc/chrony/chrony.conf)
[ -f "$conf" ] || fail "/etc/chrony/chrony.conf is missing: chrony must be installed (OS package set)"

if grep -rqs 'ptp_hyperv' "$chroot/lib/udev/rules.d"; then
  log "the image's udev rules already name the Hyper-V PTP clock /dev/ptp_hyperv"
  run_in_chroot 'rm -f /etc/udev/rules.d/99-bosh-ptp-hyperv.rules'
else
  rules=$(target /etc/udev/rules.d/99-bosh-ptp-hyperv.rules)
  write_file 0644 "$rules" < "$assets_dir/99-bosh-ptp-hyperv.rules"
fi

# Into chrony's conf.d when chrony.conf reads one (Debian and Ubuntu do), else a marked
# block at the end of chrony.conf.
if grep -Eq '^[[:space:]]*confdir[[:space:]]+/etc/chrony/conf\.d/?[[:space:]]*$' "$conf"; then
  file=$(target /etc/chrony/conf.d/bosh-azure.conf)
  write_file 0644 "$file" < "$assets_dir/bosh-azure.conf"
else
  begin='# >>> stemforge bosh_azure_chrony >>>'
  end='# <<< stemforge bosh_azure_chrony <<<'
  tmp=$(mktemp "$conf.XXXXXX")
  B="$begin" E="$end" awk '$0 == ENVIRON["B"] { skip = 1 } !skip { print } $0 == ENVIRON["E"] { skip = 0 }' "$conf" > "$tmp"
  { printf '%s\n' "$begin"; cat "$assets_dir/bosh-azure.conf"; printf '%s\n' "$end"; } >> "$tmp"
  chmod --reference="$conf" "$tmp"
  chown --reference="$conf" "$tmp"
  mv "$tmp" "$conf"
fi

# The image's chronyd parses the whole configuration and must list the clock exactly once.
parsed=$(run_in_chroot 'chronyd -p -f /etc/chrony/chrony.conf' 2>&1) || fail "chronyd rejects its configuration: $parsed"
[ "$(grep -c '^refclock PHC /dev/ptp_hyperv' <<< "$parsed")" = 1 ] || fail "chronyd does not see the PHC reference clock exactly once: $parsed"
log "chrony: refclock PHC /dev/ptp_hyperv"
