#!/usr/bin/env bash
# Allows the udf module again (system_kernel_modules disables it): Azure hands a VM its provisioning data on a UDF CD-ROM.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

# Every active "blacklist udf" or "install udf ..." line goes from /etc/modprobe.d; such a
# line in a package's own directory (/lib or /usr/lib/modprobe.d) cannot be undone from
# /etc and fails the stage.
removed=0
for f in "$chroot"/etc/modprobe.d/*.conf; do
  grep -Eq '^[[:space:]]*(blacklist|install)[[:space:]]+udf([[:space:]]|$)' "$f" || continue
  tmp=$(mktemp "$f.XXXXXX")
  grep -Ev '^[[:space:]]*(blacklist|install)[[:space:]]+udf([[:space:]]|$)' "$f" > "$tmp" || true
  chmod --reference="$f" "$tmp"
  chown --reference="$f" "$tmp"
  mv "$tmp" "$f"
  removed=$((removed + 1))
  log "udf allowed again in ${f#"$chroot"}"
done
[ "$removed" -gt 0 ] || log "no file in /etc/modprobe.d disabled udf"
packaged=$(grep -lEs '^[[:space:]]*(blacklist|install)[[:space:]]+udf([[:space:]]|$)' "$chroot"/lib/modprobe.d/*.conf "$chroot"/usr/lib/modprobe.d/*.conf || true)
[ -z "$packaged" ] || fail "udf is disabled by packaged modprobe files: ${packaged//$chroot/}"

# The module must exist, and modprobe's merged configuration must neither blacklist nor
# replace it, for every kernel in the image.
assert_kernel_modules udf
for k in $(image_kernels); do
  config=$(chroot "$chroot" modprobe -S "$k" -c 2>/dev/null) || fail "modprobe -c fails for kernel $k"
  if grep -Eq '^(blacklist udf|install udf )' <<< "$config"; then fail "modprobe still blocks udf: $(grep -E '^(blacklist|install) udf' <<< "$config")"; fi
done
log "udf can be loaded"
