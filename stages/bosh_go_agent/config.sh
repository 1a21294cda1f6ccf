#!/usr/bin/env bash
# Finds the BOSH agent binary on the build machine (agent_file, or agent_url downloaded into the download cache) and checks its sha256.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/stemcell.bash"

assert_service_manager
assert_value agent_sha256
[ -n "${agent_file:-}${agent_url:-}" ] || fail "neither agent_file nor agent_url is set: the stemcell needs a BOSH agent"
path=$(pinned_input bosh-agent "${agent_file:-}" "${agent_url:-}" "$agent_sha256" \
  "If the build machine cannot reach that host, fetch the agent some other way and build with --agent-file PATH")
persist agent_binary "$path"
