#!/usr/bin/env bash
# Writes the agent's configuration for openstack (agent_json) to /var/vcap/bosh/agent.json: settings from a bootstrap file, the config drive or the metadata service.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

install_agent_json File,ConfigDrive,HTTP
