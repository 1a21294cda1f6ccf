#!/usr/bin/env bash
# Checks that the line supervises monit with runit: the only case this stage is for.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

[ "${os_service_manager:-}" = runit ] \
  || fail "delay_monit_start is for lines whose monit runs under runit (Jammy); os_service_manager is '${os_service_manager:-}'"
