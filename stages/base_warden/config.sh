#!/usr/bin/env bash
# Checks that this is a warden build with a known service manager and that agent_json is set.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

assert_infrastructure warden
assert_service_manager
check_agent_json_setting
