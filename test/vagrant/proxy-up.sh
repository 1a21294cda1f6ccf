#!/usr/bin/env bash
# Starts the apt mirror proxy for the test VM:
#   - mirror-proxy.mjs in the ROOT namespace (where the mirror is reachable), on the Unix
#     socket $VM_HOST_STATE/mirror-proxy.sock, log $VM_HOST_STATE/mirror-proxy.log;
#   - inside the netns, socat listening on TCP 0.0.0.0:3128 and forwarding to that socket,
#     so a VM on vagrant-libvirt's network reaches it at its gateway:
#     http_proxy=http://192.168.121.1:3128
# Needs host-up.sh first (the netns). Idempotent; pids in $VM_HOST_STATE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
require_root
netns_exists || die "netns $NETNS does not exist; run host-up.sh first"
mkdir -p "$VM_HOST_STATE"

sock=$VM_HOST_STATE/mirror-proxy.sock
proxy_pid=$(pid_from "$VM_HOST_STATE/mirror-proxy.pid" node)
if [ -z "$proxy_pid" ]; then
  # setsid + all stdio to files: nothing of the caller (a test runner's pipes) is held.
  setsid node "$here/mirror-proxy.mjs" --socket "$sock" --pid-file "$VM_HOST_STATE/mirror-proxy.pid" \
    --log "$VM_HOST_STATE/mirror-proxy.log" </dev/null >>"$VM_HOST_STATE/mirror-proxy.out" 2>&1 &
  started=$!
  for _ in $(seq 1 100); do
    [ -S "$sock" ] && [ -s "$VM_HOST_STATE/mirror-proxy.pid" ] && break
    kill -0 "$started" 2>/dev/null || break
    sleep 0.05
  done
  proxy_pid=$(pid_from "$VM_HOST_STATE/mirror-proxy.pid" node)
  [ -n "$proxy_pid" ] || die "mirror-proxy did not start: $(tail -n 5 "$VM_HOST_STATE/mirror-proxy.out")"
  say "started mirror-proxy (pid $proxy_pid) on $sock"
fi

bridge_pid=$(pid_from "$VM_HOST_STATE/bridge.pid" socat)
if [ -n "$bridge_pid" ] && [ "$(ip netns identify "$bridge_pid" 2>/dev/null)" != "$NETNS" ]; then
  stop_pid "$bridge_pid" "proxy bridge"
  rm -f "$VM_HOST_STATE/bridge.pid"
  bridge_pid=
fi
if [ -z "$bridge_pid" ]; then
  # ip netns exec and setsid both exec (no fork here), so $! is socat's own pid.
  setsid ip netns exec "$NETNS" socat "TCP-LISTEN:$PROXY_PORT,bind=0.0.0.0,fork,reuseaddr" "UNIX-CONNECT:$sock" \
    </dev/null >>"$VM_HOST_STATE/bridge.log" 2>&1 &
  echo $! >"$VM_HOST_STATE/bridge.pid"
  sleep 0.1
  bridge_pid=$(pid_from "$VM_HOST_STATE/bridge.pid" socat)
  [ -n "$bridge_pid" ] || die "socat bridge did not start: $(tail -n 5 "$VM_HOST_STATE/bridge.log")"
  say "started proxy bridge socat (pid $bridge_pid) on $NETNS:0.0.0.0:$PROXY_PORT"
fi

# Self-check inside the netns, with no traffic leaving the machine: a request for a
# host that is not a mirror must come back 403 from the proxy.
status=
for _ in $(seq 1 50); do
  status=$(in_ns timeout 5 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/'"$PROXY_PORT"' || exit 1
    printf "HEAD http://proxy-selftest.invalid/ HTTP/1.0\r\n\r\n" >&3
    head -n 1 <&3' 2>/dev/null | tr -d '\r' || true)
  [ -n "$status" ] && break
  sleep 0.1
done
case $status in
  "HTTP/1.1 403"*) say "up: proxy answers in netns $NETNS on port $PROXY_PORT" ;;
  *) die "proxy self-check failed (got '${status}')" ;;
esac
