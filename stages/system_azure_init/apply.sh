#!/usr/bin/env bash
# Installs and configures the Azure guest side: cloud-init (Azure data source) for provisioning, the Azure Linux agent, the Hyper-V KVP daemon.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

# Deviation: the reference builds WALinuxAgent from a source tarball on GitHub, which is
# not reachable here; the distribution's package of the agent is used instead (Ubuntu:
# walinuxagent, Debian: waagent), with the same settings. Its version is the release's,
# not the reference's pinned one.
case "${os_distro:-}" in debian | ubuntu) ;; *) fail "os_distro is '${os_distro:-}', expected debian or ubuntu" ;; esac
agent_pkg=$(first_available_package walinuxagent waagent) || fail "apt-get update failed in the image"
[ -n "$agent_pkg" ] || fail "the image's archive has no Azure Linux agent package (walinuxagent or waagent); it is needed for Azure extensions and provisioning reports"
kvp_pkg=$(first_available_package hyperv-daemons linux-cloud-tools-generic) || fail "apt-get update failed in the image"
[ -n "$kvp_pkg" ] || fail "the image's archive has no Hyper-V daemons (hyperv-daemons or linux-cloud-tools-generic); Azure reads the VM's state through the KVP daemon"
packages=(cloud-init "$agent_pkg" "$kvp_pkg")
if [ "$kvp_pkg" = linux-cloud-tools-generic ]; then packages+=(linux-cloud-tools-common); fi
# Azure's udev rules for NVMe and managed disk names, where the release has them.
vm_utils=$(first_available_package azure-vm-utils) || fail "apt-get update failed in the image"
if [ -n "$vm_utils" ]; then packages+=("$vm_utils"); else log "azure-vm-utils is not in this release's archive: disk names come from the kernel and the agent only"; fi
log "installing ${packages[*]}"
install_packages "${packages[@]}"

# waagent.conf: cloud-init provisions; the agent owns the resource disk, the host name and
# the firewall; the Azure Linux agent stays the version the stemcell ships.
conf=$(target /etc/waagent.conf)
[ -f "$conf" ] || fail "/etc/waagent.conf is missing after installing $agent_pkg"
wa_settings=(
  Provisioning.Agent=cloud-init
  Provisioning.DeleteRootPassword=n
  Provisioning.RegenerateSshHostKeyPair=n
  Provisioning.MonitorHostName=n
  ResourceDisk.Format=n
  ResourceDisk.EnableSwap=n
  AutoUpdate.Enabled=n
  OS.EnableFirewall=n
  Logs.Verbose=n
)
tmp=$(mktemp "$conf.XXXXXX")
SETTINGS="${wa_settings[*]}" awk '
  BEGIN { n = split(ENVIRON["SETTINGS"], s, " "); for (i = 1; i <= n; i++) { k = s[i]; sub(/=.*/, "", k); want[k] = s[i]; order[i] = k } }
  {
    probe = $0; sub(/^[[:space:]]*#?[[:space:]]*/, "", probe)
    key = probe; sub(/[[:space:]]*=.*/, "", key)
    if (probe ~ /=/ && (key in want)) { if (!(key in done)) { print want[key]; done[key] = 1 }; next }
    print
  }
  END { for (i = 1; i <= n; i++) if (!(order[i] in done)) print want[order[i]] }
' "$conf" > "$tmp"
chmod 0644 "$tmp"
chown root:root "$tmp"
mv "$tmp" "$conf"
for s in "${wa_settings[@]}"; do
  if [ "$(grep -cE "^${s%%=*}=" "$conf")" != 1 ] || ! grep -qE "^${s//./\\.}([[:space:]]|\$)" "$conf"; then
    fail "waagent.conf does not set $s exactly once"
  fi
done

# The Azure Linux agent's service: the package's unit, ordered after the first-boot hook
# and enabled.
wa_unit=$(chroot "$chroot" dpkg-query -L "$agent_pkg" | awk -F/ '/\/systemd\/system\/[^/]+\.service$/ && !found { found = $NF } END { print found }')
[ -n "$wa_unit" ] || fail "$agent_pkg ships no systemd service"
for unit in "$wa_unit" cloud-init.service; do
  dropin=$(target "/etc/systemd/system/$unit.d/50-bosh-firstboot.conf")
  write_file 0644 "$dropin" < "$assets_dir/after-firstboot.conf"
done
kvp_unit=hv-kvp-daemon.service
unit_file_exists "$kvp_unit" || fail "$kvp_pkg ships no $kvp_unit"
systemd_unit enable "$wa_unit" "$kvp_unit" cloud-init-local.service cloud-init.service cloud-config.service cloud-final.service
for unit in "$wa_unit" "$kvp_unit" cloud-init-local.service cloud-init.service cloud-config.service cloud-final.service; do
  chroot "$chroot" systemctl is-enabled --quiet "$unit" || fail "$unit is not enabled"
done

# cloud-init's rsyslog rule (its own log file for [CLOUDINIT] messages) goes into
# 50-default.conf, as the reference does it (at its top, where the file's name had it):
# /etc/rsyslog.d holds only 50-default.conf.
rsyslog_default=$(target /etc/rsyslog.d/50-default.conf)
cloudinit_rsyslog=$(target /etc/rsyslog.d/21-cloudinit.conf)
[ -f "$rsyslog_default" ] || fail "/etc/rsyslog.d/50-default.conf is missing: rsyslog_config must have run in the OS image"
if [ -f "$cloudinit_rsyslog" ]; then
  begin='# >>> stemforge system_azure_init: from cloud-init (21-cloudinit.conf) >>>'
  end='# <<< stemforge system_azure_init <<<'
  tmp=$(mktemp "$rsyslog_default.XXXXXX")
  # first, where its file name (21- before 50-) had it
  {
    printf '%s\n' "$begin"
    grep -Ev '^[[:space:]]*(#|$)' "$cloudinit_rsyslog" || true
    printf '%s\n' "$end"
    B="$begin" E="$end" awk '$0 == ENVIRON["B"] { skip = 1 } !skip { print } $0 == ENVIRON["E"] { skip = 0 }' "$rsyslog_default"
  } > "$tmp"
  chmod --reference="$rsyslog_default" "$tmp"
  chown --reference="$rsyslog_default" "$tmp"
  mv "$tmp" "$rsyslog_default"
  rm -f "$cloudinit_rsyslog"
  run_in_chroot 'rsyslogd -N1 > /dev/null 2>&1' || fail "rsyslogd rejects its configuration with cloud-init's rule"
fi
# shellcheck disable=SC2010 # only asks whether anything else is there: any name, even one with a newline, leaves a line
extra=$(ls -A "$chroot/etc/rsyslog.d" | grep -vx '50-default.conf' || true)
[ -z "$extra" ] || fail "/etc/rsyslog.d has more than 50-default.conf: $extra"

# /var/log/waagent.log is rotated by the package's logrotate file (Debian ships one) or,
# where there is none, by ours; never by two.
rotating=$(grep -ls '/var/log/waagent\.log' "$chroot"/etc/logrotate.d/* | grep -v '/waagent$' || true)
logrotate_file=$(target /etc/logrotate.d/waagent)
if [ -n "$rotating" ]; then
  rm -f "$logrotate_file"
else
  write_file 0644 "$logrotate_file" < "$assets_dir/waagent.logrotate"
  rotating=$logrotate_file
fi
[ "$(wc -l <<< "$rotating")" = 1 ] || fail "several logrotate files rotate /var/log/waagent.log: ${rotating//$chroot/}"
# Parsed on its own, with the su directive logrotate.conf gives every file (/var/log is
# group-writable on a stemcell).
run_in_chroot "
  conf=\$(mktemp /tmp/stemforge-logrotate.XXXXXX)
  trap 'rm -f \"\$conf\"' EXIT
  printf 'su root root\\ninclude %s\\n' $(printf '%q' "${rotating#"$chroot"}") > \"\$conf\"
  logrotate --debug --state /dev/null \"\$conf\"
" > /dev/null 2>&1 || fail "logrotate rejects ${rotating#"$chroot"}"

# cloud-init: our cloud.cfg (module lists a BOSH VM needs, vcap as the admin user) and a
# drop-in that sorts last (Azure data source only, no network configuration).
cloud_cfg=$(target /etc/cloud/cloud.cfg)
sed "s/@DISTRO@/$os_distro/" "$assets_dir/cloud.cfg" | write_file 0644 "$cloud_cfg"
dropin=$(target /etc/cloud/cloud.cfg.d/99_bosh_azure.cfg)
write_file 0644 "$dropin" < "$assets_dir/99_bosh_azure.cfg"
last=$(find "$chroot/etc/cloud/cloud.cfg.d" -maxdepth 1 -name '*.cfg' -printf '%f\n' | LC_ALL=C sort | tail -n 1)
[ "$last" = 99_bosh_azure.cfg ] || fail "/etc/cloud/cloud.cfg.d/$last sorts after 99_bosh_azure.cfg and would override it"

# cloud-init's own view of the merged configuration: the image's cloud-init loads it.
# shellcheck disable=SC2016 # the program runs inside the chroot
merged=$(run_in_chroot 'python3 -c "
import json
from cloudinit import stages
init = stages.Init()
init.read_cfg()
c = init.cfg
print(json.dumps({
  \"datasource_list\": c.get(\"datasource_list\"),
  \"network\": c.get(\"network\"),
  \"modules\": (c.get(\"cloud_init_modules\") or []) + (c.get(\"cloud_config_modules\") or []) + (c.get(\"cloud_final_modules\") or []),
  \"user\": (init.distro.get_default_user() or {}).get(\"name\"),
  \"distro\": init.distro.name,
}, sort_keys=True))
"') || fail "cloud-init cannot load its configuration"
log "cloud-init configuration: $merged"
python_check="
import json, sys
c = json.loads(sys.argv[1])
assert c['datasource_list'] == ['Azure', 'None'], c['datasource_list']
assert c['network'] == {'config': 'disabled'}, c['network']
assert c['user'] == 'vcap', c['user']
assert c['distro'] == sys.argv[2], c['distro']
bad = [m for m in c['modules'] if m in ('disk_setup', 'mounts', 'growpart', 'resizefs', 'set_passwords', 'apt_configure', 'package_update_upgrade_install')]
assert not bad, bad
"
run_in_chroot "python3 -c $(printf '%q' "$python_check") $(printf '%q' "$merged") $(printf '%q' "$os_distro")" \
  || fail "cloud-init's merged configuration is not the one this stage wrote"

assert_no_chroot_processes
log "cloud-init (Azure data source), $agent_pkg ($wa_unit), $kvp_pkg ($kvp_unit) installed and enabled"
