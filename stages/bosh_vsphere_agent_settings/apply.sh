#!/usr/bin/env bash
# Writes the agent's configuration for vsphere/vcloud (agent_json) to /var/vcap/bosh/agent.json: settings from the env file on the CD-ROM the CPI attaches.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

install_agent_json CDROM
