#!/usr/bin/env bash
# stemcell-tarball.bash STAGING OUT: pack the six stemcell files of STAGING into the gzip
# tar OUT, as the Director and the bosh CLI expect it: plain names (no ./), nothing else.
# Any missing or extra file stops the packing, like the reference's packager.
set -euo pipefail
staging=$1 out=$2
files=(stemcell.MF packages.txt dev_tools_file_list.txt image sbom.spdx.json sbom.cdx.json)

cd "$staging"
missing=() extra=()
for f in "${files[@]}"; do [ -f "$f" ] && [ ! -L "$f" ] || missing+=("$f"); done
for f in * .[!.]* ..?*; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  case " ${files[*]} " in *" $f "*) ;; *) extra+=("$f") ;; esac
done
[ "${#missing[@]}" -eq 0 ] || { echo "stemcell-tarball: missing in $staging: ${missing[*]}" >&2; exit 1; }
[ "${#extra[@]}" -eq 0 ] || { echo "stemcell-tarball: not a stemcell file, refusing to pack: ${extra[*]}" >&2; exit 1; }

# Level 1: the image inside is compressed already (or a disk the format keeps as is), so a
# higher level only costs time.
# shellcheck source=compression.bash
source "$(dirname "${BASH_SOURCE[0]}")/compression.bash"
z="$(gzip_program) -1"
# a temp name of its own: a packing a killed stemforge left running never writes into it
tar --owner=0 --group=0 --numeric-owner -I "$z" -cf "$out.part.$$" -- "${files[@]}"
mv -f "$out.part.$$" "$out"
echo "stemcell-tarball: $out ($(stat -c %s "$out") bytes)"
