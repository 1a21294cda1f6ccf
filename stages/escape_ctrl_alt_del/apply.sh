#!/usr/bin/env bash
# Makes Ctrl-Alt-Del on the console do nothing but leave a log line, instead of rebooting the VM.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/hardening.bash"

# The reference writes /etc/init/control-alt-delete.override, an upstart job that only
# logs. None of our lines boots with upstart (systemd is PID 1 on all three; runit on Jammy
# only supervises the agent and monit), so nothing would read that file: we do not write it.
# systemd's equivalent: the key press starts ctrl-alt-del.target (a reboot). Masked, systemd
# cannot start it and logs "Failed to enqueue ctrl-alt-del.target job ... masked" in the
# journal (and so in syslog) at each press. Pressed 7 times within 2 s, systemd forces a
# reboot regardless (CtrlAltDelBurstAction=reboot-force), so that goes off too.
[ -d "$chroot/etc/systemd/system" ] || fail "systemd is not installed in the chroot"
unit="$chroot/etc/systemd/system/ctrl-alt-del.target"
if [ -e "$unit" ] || [ -L "$unit" ]; then
  if [ "$(readlink "$unit")" != /dev/null ]; then fail "/etc/systemd/system/ctrl-alt-del.target exists and is not a mask"; fi
fi
systemd_unit mask ctrl-alt-del.target
[ "$(readlink "$unit")" = /dev/null ] || fail "ctrl-alt-del.target is not masked"
log "ctrl-alt-del.target masked: Ctrl-Alt-Del is only logged by systemd"

install_if_changed 0644 "$chroot/etc/systemd/system.conf.d/50-bosh-ctrl-alt-del.conf" <<'EOF'
# Installed by stemforge (escape_ctrl_alt_del): no forced reboot when Ctrl-Alt-Del is
# pressed more than 7 times in 2 s; ctrl-alt-del.target itself is masked.
[Manager]
CtrlAltDelBurstAction=none
EOF
# systemd's own view of system.conf with its drop-ins (the last value wins).
burst=$(run_in_chroot 'systemd-analyze cat-config systemd/system.conf' | awk -F= '/^CtrlAltDelBurstAction=/ { v = $2 } END { print v }')
[ "$burst" = none ] || fail "systemd's effective CtrlAltDelBurstAction is '$burst', not none"
log "CtrlAltDelBurstAction=none"
