#!/usr/bin/env bash
# Stops what proxy-up.sh started (the socat bridge and mirror-proxy), by recorded pid.
# Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
require_root
rc=0
stop_pidfile "$VM_HOST_STATE/bridge.pid" socat "proxy bridge" || rc=1
stop_pidfile "$VM_HOST_STATE/mirror-proxy.pid" node mirror-proxy || rc=1
rm -f "$VM_HOST_STATE/mirror-proxy.sock"
if [ "$rc" -eq 0 ]; then say "down"; else say "something did not stop"; fi
exit "$rc"
