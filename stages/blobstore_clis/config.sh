#!/usr/bin/env bash
# With blobstore_clis=install, downloads each pinned blobstore CLI into the download cache and checks its sha256; with skip, checks nothing is asked for.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/stemcell.bash"

case "${blobstore_clis:-}" in
  skip)
    log "blobstore CLIs skipped (--skip-blobstore-clis): nothing to download"
    persist blobstore_cli_files ''
    ;;
  install)
    assert_value blobstore_cli_pins
    assert_available curl
    files=()
    read -r -a pins <<< "$blobstore_cli_pins"
    for pin in "${pins[@]}"; do
      IFS='|' read -r name url sha <<< "$pin"
      [[ $name =~ ^bosh-blobstore-[a-z0-9-]+$ ]] || fail "blobstore CLI pin '$pin': '$name' is not a bosh-blobstore-<type> name"
      [[ $url =~ ^https?://[^[:space:]]+$ ]] || fail "blobstore CLI pin '$pin': '$url' is not an http(s) URL"
      assert_sha256 "$sha"
      path=$(fetch_pinned "$name" "$url" "$sha" \
        "If the build machine cannot reach that host, build with --skip-blobstore-clis: the stemcell is made without the blobstore CLIs and its stemcell.MF says so")
      files+=("$name|$path|$sha")
    done
    [ "${#files[@]}" -gt 0 ] || fail "blobstore_cli_pins names no CLI"
    persist blobstore_cli_files "${files[*]}"
    log "${#files[@]} blobstore CLIs downloaded and verified"
    ;;
  *) fail "blobstore_clis is '${blobstore_clis:-}', expected install or skip" ;;
esac
