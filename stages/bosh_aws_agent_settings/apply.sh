#!/usr/bin/env bash
# Writes the agent's configuration for aws (agent_json) to /var/vcap/bosh/agent.json: settings from the EC2 metadata service (IMDSv2 token).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

install_agent_json HTTP
