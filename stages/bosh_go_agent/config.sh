#!/usr/bin/env bash
# Finds the BOSH agent binary on the build machine (agent_file, or agent_url downloaded into the download cache) and checks its sha256.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/stemcell.bash"

assert_service_manager
assert_value agent_sha256
assert_sha256 "$agent_sha256"

if [ -n "${agent_file:-}" ]; then
  [ -f "$agent_file" ] || fail "agent_file $agent_file is missing on the build machine"
  got=$(sha256_of "$agent_file")
  [ "$got" = "$agent_sha256" ] || fail "agent_file $agent_file has sha256 $got, expected $agent_sha256"
  persist agent_binary "$agent_file"
  log "agent: $agent_file (sha256 $agent_sha256)"
elif [ -n "${agent_url:-}" ]; then
  assert_available curl
  path=$(fetch_pinned bosh-agent "$agent_url" "$agent_sha256" \
    "If the build machine cannot reach that host, fetch the agent some other way and build with --agent-file PATH")
  persist agent_binary "$path"
  log "agent: $agent_url -> $path (sha256 $agent_sha256)"
else
  fail "neither agent_file nor agent_url is set: the stemcell needs a BOSH agent"
fi
