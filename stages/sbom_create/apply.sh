#!/usr/bin/env bash
# Writes the stemcell's SBOMs, sbom.spdx.json (SPDX 2.3) and sbom.cdx.json (CycloneDX 1.5), from the image's dpkg database, into work/stemcell.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/stemcell.bash"

# The reference runs syft (a downloaded binary) over the mounted disk image. Here the
# packages come straight from the image's dpkg status file, formatted by awk on the build
# machine: nothing is downloaded and nothing runs in the image but the JSON check. Each
# package: name, version, architecture, source package, and its purl
# (pkg:deb/<distro>/<name>@<version>?arch=…&distro=<distro>-<release>[&upstream=<source>]).
# Licenses are NOASSERTION: dpkg does not record them.
for key in os_distro os_version os_name stemcell_name stemcell_version stemforge_version; do
  assert_value "$key"
done

packages=$(dpkg_installed_packages)
count=$(grep -c . <<< "$packages") || fail "no installed packages in the image's dpkg database"

# Creation time: BUILD_TIME (the build's archive date, YYYYMMDDTHHMMSSZ) when set, so the
# SBOMs of a rebuild match, else now.
stamp=${build_time:-${BUILD_TIME:-}}
if [[ $stamp =~ ^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$ ]]; then
  created="${BASH_REMATCH[1]}-${BASH_REMATCH[2]}-${BASH_REMATCH[3]}T${BASH_REMATCH[4]}:${BASH_REMATCH[5]}:${BASH_REMATCH[6]}Z"
else
  created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
fi
# Names derived from what the SBOM describes: the same stemcell gets the same ones.
digest=$(printf '%s\n%s\n%s\n' "$stemcell_name" "$stemcell_version" "$packages" | sha256sum | cut -c1-32)
serial="${digest:0:8}-${digest:8:4}-5${digest:13:3}-8${digest:17:3}-${digest:20:12}"

export SBOM_DISTRO="$os_distro" SBOM_DISTRO_VERSION="$os_version" SBOM_NAME="$stemcell_name" \
  SBOM_VERSION="$stemcell_version" SBOM_OS="$os_name" SBOM_TOOL_VERSION="$stemforge_version" \
  SBOM_CREATED="$created" SBOM_SERIAL="$serial" \
  SBOM_NAMESPACE="https://stemforge.invalid/spdx/$stemcell_name/$stemcell_version/$digest"

for format in spdx cyclonedx; do
  case "$format" in spdx) file=sbom.spdx.json ;; cyclonedx) file=sbom.cdx.json ;; esac
  tmp=$(mktemp "$work/.$file.XXXXXX")
  SBOM_FORMAT=$format awk -f "$assets_dir/sbom.awk" <<< "$packages" > "$tmp" || { rm -f "$tmp"; fail "cannot make $file"; }
  json_validate "$tmp"
  purls=$(grep -c '"pkg:deb/' "$tmp" || true)
  case "$format" in
    spdx) [ "$purls" = "$count" ] || { rm -f "$tmp"; fail "$file lists $purls packages, the image has $count"; } ;;
    cyclonedx) [ "$purls" = "$((count * 3))" ] || { rm -f "$tmp"; fail "$file lists $((purls / 3)) packages, the image has $count"; } ;;
  esac
  write_stemcell_file "$file" < "$tmp"
  rm -f "$tmp"
done
log "sbom.spdx.json (SPDX 2.3) and sbom.cdx.json (CycloneDX 1.5): $count packages each, created $created"
