#!/usr/bin/env bash
# Checks the service manager and monit API filter settings, finds monit's source tarball (a file sent to the build machine, or the pinned download) and checks its sha256, and fixes the .deb cache.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/downloads.bash"

assert_service_manager
case "${monit_api_filter:-}" in
  iptables | nftables) ;;
  *) fail "monit_api_filter is '${monit_api_filter:-}', expected iptables or nftables" ;;
esac
assert_value monit_source_sha256
[ -n "${monit_source_file:-}${monit_source_url:-}" ] || fail "neither monit_source_file nor monit_source_url is set: the image needs monit's source"
path=$(pinned_input monit-source "${monit_source_file:-}" "${monit_source_url:-}" "$monit_source_sha256" \
  "If the build machine cannot reach that host, fetch monit-5.2.5.tar.gz some other way and build with --monit-file PATH")
persist monit_tarball "$path"
persist_package_cache
log "monit supervised by $os_service_manager, API restricted with $monit_api_filter"
