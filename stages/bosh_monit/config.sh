#!/usr/bin/env bash
# Checks the service manager and monit API filter settings and fixes the .deb cache monit is installed from.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"

assert_service_manager
case "${monit_api_filter:-}" in
  iptables | nftables) ;;
  *) fail "monit_api_filter is '${monit_api_filter:-}', expected iptables or nftables" ;;
esac
persist_package_cache
log "monit supervised by $os_service_manager, API restricted with $monit_api_filter"
