#!/usr/bin/env bash
# Installs the Google guest environment (guest agent, OS Login) from the release's archive, configured for BOSH; no growroot, no DHCP host-name hook.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/iaas.bash"

# Packages: Ubuntu names the guest environment gce-compute-image-packages (it pulls the
# guest agent), Debian ships google-guest-agent itself; both have
# google-compute-engine-oslogin. The first one the archive has is used. The reference's
# rewrite of metadata.google.internal to 169.254.169.254 patched the old Python daemons;
# the guest agent is a Go program that already talks to 169.254.169.254 (checked below).
guest_pkg=$(first_available_package gce-compute-image-packages google-guest-agent) || fail "apt-get update failed in the image"
[ -n "$guest_pkg" ] || fail "the image's archive has no Google guest environment (gce-compute-image-packages or google-guest-agent)"
oslogin_pkg=$(first_available_package google-compute-engine-oslogin) || fail "apt-get update failed in the image"
[ -n "$oslogin_pkg" ] || fail "the image's archive has no google-compute-engine-oslogin"

template=$(target /etc/default/instance_configs.cfg.template)
write_file 0644 "$template" < "$assets_dir/instance_configs.cfg.template"
log "installing $guest_pkg $oslogin_pkg"
install_packages "$guest_pkg" "$oslogin_pkg"
[ "$(cat "$template")" = "$(cat "$assets_dir/instance_configs.cfg.template")" ] || fail "installing $guest_pkg replaced /etc/default/instance_configs.cfg.template"

# The agent binary and its service.
agent_bin=$(chroot "$chroot" sh -c 'command -v google_guest_agent' || true)
[ -n "$agent_bin" ] || fail "google_guest_agent is not installed"
grep -aq '169\.254\.169\.254' "$chroot$agent_bin" || fail "$agent_bin does not use the metadata server's address"
chroot "$chroot" systemctl is-enabled --quiet google-guest-agent.service || systemd_unit enable google-guest-agent.service
chroot "$chroot" systemctl is-enabled --quiet google-guest-agent.service || fail "google-guest-agent.service is not enabled"
# Metadata startup and shutdown scripts: besides the configuration, their services are off.
for unit in google-startup-scripts.service google-shutdown-scripts.service; do
  if unit_file_exists "$unit"; then
    if chroot "$chroot" systemctl is-enabled --quiet "$unit" 2>/dev/null; then systemd_unit disable "$unit"; fi
    if chroot "$chroot" systemctl is-enabled --quiet "$unit" 2>/dev/null; then fail "$unit is still enabled"; fi
  fi
done

# The guest agent reads instance_configs.cfg.distro, then .template, then .cfg, a later
# file winning key by key. Debian's package ships its defaults as instance_configs.cfg
# (host keys, startup scripts on), which would override the template: our keys are set
# there too, the file's other keys stay.
# shellcheck disable=SC2016 # the program runs inside the chroot
run_in_chroot 'python3 -c "
import configparser, os
base = \"/etc/default/instance_configs.cfg\"
ours = configparser.ConfigParser(interpolation=None)
ours.read(base + \".template\")
if os.path.exists(base):
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(base)
    for section in ours.sections():
        if not cfg.has_section(section):
            cfg.add_section(section)
        for key, value in ours.items(section):
            cfg.set(section, key, value)
    with open(base + \".stemforge-new\", \"w\") as f:
        cfg.write(f)
    os.chmod(base + \".stemforge-new\", 0o644)
    os.rename(base + \".stemforge-new\", base)
merged = configparser.ConfigParser(interpolation=None)
merged.read([base + \".distro\", base + \".template\", base])
for section in ours.sections():
    for key, value in ours.items(section):
        got = merged.get(section, key)
        assert got == value, \"%s.%s is %s, not %s\" % (section, key, got, value)
"' || fail "the guest agent's effective configuration is not the template's"
# growroot (cloud-initramfs-growroot) must not grow the root partition: the agent uses the
# rest of the disk. The marker file switches it off should the package ever come in.
growroot=$(target /etc/growroot-disabled)
printf '' | write_file 0644 "$growroot"

# A DHCP hook that sets the host name from the metadata server would undo the agent's host
# name on every lease renewal (cloudfoundry/bosh#1399).
run_in_chroot 'rm -f /etc/dhcp/dhclient-exit-hooks.d/google_set_hostname /etc/dhcp/dhclient-exit-hooks.d/set_hostname'
hooks=$(grep -rls 'hostname' "$chroot/etc/dhcp/dhclient-exit-hooks.d" 2>/dev/null | grep -i google || true)
[ -z "$hooks" ] || fail "a Google DHCP hook still sets the host name: ${hooks//$chroot/}"
log "$guest_pkg and $oslogin_pkg installed; guest agent configured for BOSH"
