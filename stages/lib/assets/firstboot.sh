#!/bin/bash
# Written by stemforge (base_*_firstboot): runs once, on a stemcell VM's first boot.
set -euo pipefail
# bosh-firstboot.service and /etc/rc.local both start this at boot: the second waits here for
# the first, then finds the marker (two at once made two different host keys).
exec 9> /run/bosh-firstboot.lock
flock 9
marker=/root/firstboot_done
[ -e "$marker" ] && exit 0

# Host keys unique to this VM (the stemcell ships none).
if ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1; then :; else
  ssh-keygen -A
fi
rm -f /etc/ssh/ssh_host_dsa_key /etc/ssh/ssh_host_dsa_key.pub
# Their fingerprints on the console (the unit sends its output there too), so whoever
# connects first can check the key against what the VM itself said (stemforge verify does).
for pub in /etc/ssh/ssh_host_*_key.pub; do
  echo "stemforge-ssh-host-key: $(ssh-keygen -l -E sha256 -f "$pub")"
done

# sysstat's data directory and cron entries for this host.
if command -v dpkg-reconfigure >/dev/null && dpkg-query -W sysstat >/dev/null 2>&1; then
  dpkg-reconfigure -f noninteractive sysstat || true
fi

touch "$marker"
