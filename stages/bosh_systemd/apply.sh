#!/usr/bin/env bash
# Sets RemoveIPC=no for systemd-logind (a drop-in), so logging out of vcap does not remove the IPC objects of vcap's jobs.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"

[ -f "$chroot/etc/systemd/logind.conf" ] || fail "/etc/systemd/logind.conf is missing: systemd must be installed before $stage_name"

# With RemoveIPC=yes (systemd's default) logind removes a user's shared memory, semaphores
# and message queues when the user's last session ends; BOSH jobs run as vcap, and an
# operator's "bosh ssh" session as vcap ending would take their IPC objects with it.
dropin=$(target /etc/systemd/logind.conf.d/90-bosh.conf)
write_file 0644 "$dropin" <<'LOGIND'
# Written by stemforge (bosh_systemd): keep the IPC objects of vcap's jobs when a vcap
# login session ends.
[Login]
RemoveIPC=no
LOGIND

# The value in effect is the last one in logind.conf and its drop-ins, as systemd reads them.
effective=$(run_in_chroot 'systemd-analyze cat-config systemd/logind.conf' \
  | awk -F= '/^[[:space:]]*RemoveIPC[[:space:]]*=/ { v = $2 } END { gsub(/[[:space:]]/, "", v); print v }')
[ "$effective" = no ] || fail "RemoveIPC in effect is '$effective', expected no"
log "logind: RemoveIPC=no (/etc/systemd/logind.conf.d/90-bosh.conf)"
