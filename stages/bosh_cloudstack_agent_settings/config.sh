#!/usr/bin/env bash
# Checks that this is a cloudstack build and that agent_json is set, one line of JSON.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

assert_infrastructure cloudstack
check_agent_json_setting
