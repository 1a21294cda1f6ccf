#!/usr/bin/env bash
# Installs open-vm-tools, keeps container interfaces out of what vCenter shows, and leaves no fusermount and no nullok.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

install_packages open-vm-tools

# fusermount is setuid root and only useful with a FUSE mount (vmhgfs-fuse shared folders,
# which a BOSH VM never uses): the reference deletes it; here the package that carries it
# goes, when a dependency brought it in.
for p in fuse3 fuse; do
  if [ "$(package_status "$p")" = installed ]; then
    pkg_purge "$p"
    log "$p purged (setuid fusermount)"
  fi
done
left=$(chroot "$chroot" sh -c 'ls /usr/bin/fusermount /usr/bin/fusermount3 /bin/fusermount /bin/fusermount3 2>/dev/null' || true)
[ -z "$left" ] || fail "fusermount is still in the image: $left"
[ "$(package_status open-vm-tools)" = installed ] || fail "purging fuse took open-vm-tools with it"

# vCenter lists the guest's IP addresses; the interfaces of containers and overlay networks
# (garden, silk, docker, OVS, NSX, CNI plugins, libvirt) would crowd out the VM's own.
# open-vm-tools matches these with * and ? only.
tools_conf=$(target /etc/vmware-tools/tools.conf)
# The reference's list comes first, as it has it (NSX and Antrea name their container
# interfaces with 15 characters), then the ones we add.
exclude='veth*,docker*,virbr*,silk-vtep,s-*,ovs*,erspan*,nsx-container,antrea*,???????????????,nsx-container*,cni*,flannel*,cali*,vxlan*,????????-????-*'
if [ -f "$tools_conf" ]; then
  begin='# >>> stemforge system_open_vm_tools >>>'
  end='# <<< stemforge system_open_vm_tools <<<'
  if grep -Eq '^[[:space:]]*\[guestinfo\]' "$tools_conf" && ! grep -qxF "$begin" "$tools_conf"; then
    fail "/etc/vmware-tools/tools.conf already has a [guestinfo] section of its own"
  fi
  tmp=$(mktemp "$tools_conf.XXXXXX")
  B="$begin" E="$end" awk '$0 == ENVIRON["B"] { skip = 1 } !skip { print } $0 == ENVIRON["E"] { skip = 0 }' "$tools_conf" > "$tmp"
  printf '%s\n[guestinfo]\nexclude-nics=%s\n%s\n' "$begin" "$exclude" "$end" >> "$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$tools_conf"
else
  printf '# Written by stemforge (system_open_vm_tools)\n[guestinfo]\nexclude-nics=%s\n' "$exclude" | write_file 0644 "$tools_conf"
fi
[ "$(grep -c '^exclude-nics=' "$tools_conf")" = 1 ] || fail "tools.conf must set exclude-nics exactly once"

# The package's PAM file for vmtoolsd (guest operations) allows empty passwords; the OS
# image's password_policies took nullok out of every other PAM file.
pam=$(target /etc/pam.d/vmtoolsd)
if [ -f "$pam" ]; then
  sed -i -E 's/[[:space:]]+nullok(_secure)?\b//g' "$pam"
  if grep -q 'nullok' "$pam"; then fail "/etc/pam.d/vmtoolsd still allows empty passwords"; fi
fi

chroot "$chroot" systemctl is-enabled --quiet open-vm-tools.service || systemd_unit enable open-vm-tools.service
chroot "$chroot" systemctl is-enabled --quiet open-vm-tools.service || fail "open-vm-tools.service is not enabled"
log "open-vm-tools $(package_version open-vm-tools) installed; exclude-nics=$exclude"
