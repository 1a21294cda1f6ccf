#!/usr/bin/env bash
# Installs the blobstore CLIs the agent calls (/var/vcap/bosh/bin/bosh-blobstore-<type>), or with blobstore_clis=skip records in the image that they were left out.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/stemcell.bash"

ensure_bosh_dirs
marker=$(target "$bosh_etc_dir/blobstore_clis_skipped")

case "${blobstore_clis:-}" in
  skip)
    # No CLI of an earlier install run may stay behind the marker.
    read -r -a pins <<< "${blobstore_cli_pins:-}"
    for pin in "${pins[@]}"; do
      name=${pin%%|*}
      [[ $name =~ ^bosh-blobstore-[a-z0-9-]+$ ]] || fail "'$name' is not a bosh-blobstore-<type> name"
      rm -f "$chroot$bosh_bin_dir/$name"
    done
    write_file 0644 "$marker" <<'TEXT'
The blobstore CLIs (bosh-blobstore-dav, -gcs, -s3, -azure-storage) were left out of this stemcell (stemforge --skip-blobstore-clis): the agent cannot use those blobstores from it.
TEXT
    log "blobstore CLIs skipped: $bosh_etc_dir/blobstore_clis_skipped written"
    ;;
  install)
    [ -n "${blobstore_cli_files:-}" ] || fail "config.sh found no blobstore CLIs to install (run it first)"
    count=0
    read -r -a entries <<< "$blobstore_cli_files"
    for entry in "${entries[@]}"; do
      IFS='|' read -r name path sha <<< "$entry"
      install_binary "$path" "$sha" "$bosh_bin_dir/$name"
      log "$bosh_bin_dir/$name installed (sha256 $sha)"
      count=$((count + 1))
    done
    rm -f "$marker"
    log "$count blobstore CLIs installed"
    ;;
  *) fail "blobstore_clis is '${blobstore_clis:-}', expected install or skip" ;;
esac
