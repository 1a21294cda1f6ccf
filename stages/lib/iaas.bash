# shellcheck shell=bash
# Shared by the per-infrastructure stages of the stemcell phase (agent settings, kernel
# modules for the boot disk, sshd switches, packages the archive may or may not have).
# Source it after the prelude and bosh.bash:
#   source "$lib_dir/bosh.bash"
#   source "$lib_dir/iaas.bash"
# It brings packages.bash (package_status) along.

# shellcheck source=packages.bash
source "$lib_dir/packages.bash"

# Where the agent reads its own configuration (bosh-agent -C).
agent_json_path=/var/vcap/bosh/agent.json

# assert_infrastructure NAME...: the build's stemcell_infrastructure must be one of NAME.
assert_infrastructure() {
  local want
  assert_value stemcell_infrastructure
  for want in "$@"; do
    if [ "$stemcell_infrastructure" = "$want" ]; then return 0; fi
  done
  fail "$stage_name is for $(IFS=/; printf '%s' "$*") stemcells; this build is for '$stemcell_infrastructure'"
}

# check_agent_json_setting: from config.sh, agent_json is set, one line, and looks like a
# JSON object. The full check is in apply.sh with the image's python3 (the build machine
# needs none, and at config time the chroot is not unpacked yet).
check_agent_json_setting() {
  assert_value agent_json
  case "$agent_json" in *$'\n'*) fail "agent_json must be one line of JSON" ;; esac
  [[ $agent_json == '{'*'}' ]] || fail "agent_json is not a JSON object: ${agent_json:0:60}"
}

# The python3 program install_agent_json runs in the image: reads agent_json on stdin,
# checks the shape the agent relies on, adds the service manager a systemd line needs and
# prints the result indented. Arguments: the source types this infrastructure's agent
# reads (comma-separated) and os_service_manager.
# The agent starts monit through `sv` unless Platform.Linux.ServiceManager is "systemd";
# on a systemd line runsvdir does not run, so without it monit would never start.
read -r -d '' agent_json_program <<'PYTHON' || true
import json, sys

allowed, manager = sys.argv[1].split(","), sys.argv[2]

def die(message):
    sys.stderr.write("agent_json: " + message + "\n")
    sys.exit(1)

try:
    doc = json.loads(sys.stdin.read())
except ValueError as error:
    die("not valid JSON: %s" % error)
if not isinstance(doc, dict):
    die("not a JSON object")
platform = doc.get("Platform")
linux = platform.get("Linux") if isinstance(platform, dict) else None
if not isinstance(linux, dict):
    die("no Platform.Linux object")
infrastructure = doc.get("Infrastructure")
settings = infrastructure.get("Settings") if isinstance(infrastructure, dict) else None
sources = settings.get("Sources") if isinstance(settings, dict) else None
if not isinstance(sources, list) or not sources:
    die("Infrastructure.Settings.Sources is not a non-empty list")
for source in sources:
    if not isinstance(source, dict) or not isinstance(source.get("Type"), str):
        die("a settings source without a Type: %s" % json.dumps(source))
types = [source["Type"] for source in sources]
unknown = [t for t in types if t not in allowed]
if unknown:
    die("settings source types %s; this infrastructure's agent reads %s" % (",".join(types), ",".join(allowed)))
current = linux.get("ServiceManager")
if manager == "systemd":
    if current is None:
        linux["ServiceManager"] = "systemd"
        sys.stderr.write("agent_json: added Platform.Linux.ServiceManager=systemd (a systemd line)\n")
    elif current != "systemd":
        die("Platform.Linux.ServiceManager is %r on a systemd line" % current)
elif current == "systemd":
    die("Platform.Linux.ServiceManager is systemd on a %s line" % manager)
sys.stdout.write(json.dumps(doc, indent=2) + "\n")
PYTHON

# install_agent_json SOURCE_TYPES: write agent_json to /var/vcap/bosh/agent.json (root,
# 0600: only the agent, which runs as root, reads it), after the image's python3 has
# parsed it and found Platform.Linux and Infrastructure.Settings.Sources whose types are
# all in SOURCE_TYPES (comma-separated). Written again on every run, so a re-run gives the
# same file.
install_agent_json() {
  local types=$1 file content
  check_agent_json_setting
  assert_service_manager
  [ -x "$chroot/usr/bin/python3" ] || fail "python3 is missing from the image; it checks agent.json (install python3 in the OS image)"
  ensure_bosh_dirs
  file=$(target "$agent_json_path")
  content=$(printf '%s' "$agent_json" \
    | run_in_chroot "python3 -c $(printf '%q' "$agent_json_program") $(printf '%q' "$types") $(printf '%q' "$os_service_manager")") \
    || fail "agent_json is not a usable agent configuration for $stemcell_infrastructure (see above)"
  printf '%s\n' "$content" | write_file 0600 "$file"
  chown root:root "$file"
  run_in_chroot "python3 -m json.tool $agent_json_path > /dev/null" || fail "$agent_json_path does not parse in the image"
  [ "$(stat -c '%a %U:%G' "$file")" = '600 root:root' ] || fail "$agent_json_path is not 0600 root:root"
  log "$agent_json_path written for $stemcell_infrastructure (sources: $types; service manager: $os_service_manager)"
}

# image_kernels: the kernel versions installed in the image (a /boot/vmlinuz-VERSION with
# its /lib/modules/VERSION), one a line.
image_kernels() {
  local v k
  for v in "$chroot"/boot/vmlinuz-*; do
    k=${v##*/vmlinuz-}
    if [ -d "$chroot/lib/modules/$k" ]; then printf '%s\n' "$k"; fi
  done
}

# request_initramfs_modules MODULE...: every MODULE must exist for every installed kernel
# (as a module file or built in); all are listed in a block of /etc/initramfs-tools/modules
# owned by this stage, so the VM finds its boot disk before the root file system is
# mounted. system_initramfs builds the initramfs once, after every stage that changes what
# goes into it, and checks the loadable ones are inside.
request_initramfs_modules() {
  local kernels=() k m where file tmp begin end missing=()
  mapfile -t kernels < <(image_kernels)
  [ "${#kernels[@]}" -gt 0 ] || fail "no kernel in the image (/boot/vmlinuz-* with /lib/modules/*): system_kernel runs before $stage_name"
  [ -x "$chroot/usr/sbin/update-initramfs" ] || fail "update-initramfs is missing: initramfs-tools comes with the kernel (system_kernel)"

  for k in "${kernels[@]}"; do
    for m in "$@"; do
      where=$(chroot "$chroot" modinfo -k "$k" -F filename "$m" 2>/dev/null) || where=
      [ -n "$where" ] || missing+=("$m ($k)")
    done
  done
  [ "${#missing[@]}" -eq 0 ] || fail "modules missing from the kernel: ${missing[*]}"

  file=$(target /etc/initramfs-tools/modules)
  [ -f "$file" ] || fail "/etc/initramfs-tools/modules is missing (initramfs-tools not installed?)"
  begin="# >>> stemforge $stage_name >>>"
  end="# <<< stemforge $stage_name <<<"
  tmp=$(mktemp "$file.XXXXXX")
  B="$begin" E="$end" awk '$0 == ENVIRON["B"] { skip = 1 } !skip { print } $0 == ENVIRON["E"] { skip = 0 }' "$file" > "$tmp"
  printf '%s\n' "$begin" "# In the initramfs: the drivers of this infrastructure's boot disks." "$@" "$end" >> "$tmp"
  chmod --reference="$file" "$tmp"
  chown --reference="$file" "$tmp"
  if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv "$tmp" "$file"; fi
  log "/etc/initramfs-tools/modules names $* for ${kernels[*]} (system_initramfs puts the loadable ones in the initramfs)"
}

# assert_kernel_modules MODULE...: every installed kernel has each MODULE (a module file or
# built in); fails when there is no kernel at all.
assert_kernel_modules() {
  local m k kernels=() missing=()
  mapfile -t kernels < <(image_kernels)
  [ "${#kernels[@]}" -gt 0 ] || fail "no kernel in the image: system_kernel runs before $stage_name"
  for k in "${kernels[@]}"; do
    for m in "$@"; do
      chroot "$chroot" modinfo -k "$k" -F filename "$m" > /dev/null 2>&1 || missing+=("$m ($k)")
    done
  done
  [ "${#missing[@]}" -eq 0 ] || fail "modules missing from the kernel: ${missing[*]}"
  log "the kernel has $*"
}

# unit_file_exists UNIT: the image has a unit file for UNIT (systemctl cat needs a running
# systemd; this looks where systemd would).
unit_file_exists() {
  local d
  for d in /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    if [ -e "$chroot$d/$1" ]; then return 0; fi
  done
  return 1
}

# first_available_package NAME...: print the first NAME the image's apt sources offer (a
# candidate in apt-cache policy), or nothing. The package lists stay for a pkg_install
# that follows; drop_apt_lists afterwards.
first_available_package() {
  # shellcheck disable=SC2016 # expanded inside the chroot
  run_in_chroot "
    apt-get update -q >&2
    for p in $(printf '%q ' "$@"); do
      c=\$(apt-cache policy \"\$p\" 2>/dev/null | awk '\$1 == \"Candidate:\" { print \$2 }')
      if [ -n \"\$c\" ] && [ \"\$c\" != '(none)' ]; then printf '%s\n' \"\$p\"; exit 0; fi
    done
  "
}

# install_packages NAME...: install, drop the lists, and check nothing runs and each
# package is installed.
install_packages() {
  local p
  pkg_install "$@"
  drop_apt_lists
  assert_no_chroot_processes
  for p in "$@"; do
    [ "$(package_status "$p")" = installed ] || fail "$p is not installed after apt-get"
  done
}

# package_version NAME: the installed version of NAME in the image.
package_version() {
  # shellcheck disable=SC2016 # a dpkg-query format field
  chroot "$chroot" dpkg-query -W -f='${Version}' "$1"
}

# sshd_effective: the effective sshd settings of the image (sshd -T, after every Include),
# once sshd -t has accepted the configuration. A throwaway host key is used (the stemcell
# ships none) and the privilege separation directory a booted VM has on /run.
sshd_effective() {
  # shellcheck disable=SC2016 # expanded inside the chroot
  run_in_chroot '
    dir=$(mktemp -d /tmp/stemforge-sshd.XXXXXX)
    made=0
    if [ ! -d /run/sshd ]; then mkdir -p /run/sshd; chmod 0755 /run/sshd; made=1; fi
    rc=0
    ssh-keygen -q -t ed25519 -N "" -f "$dir/key" > /dev/null || rc=$?
    if [ "$rc" = 0 ]; then /usr/sbin/sshd -t -f /etc/ssh/sshd_config -h "$dir/key" >&2 || rc=$?; fi
    if [ "$rc" = 0 ]; then
      /usr/sbin/sshd -T -f /etc/ssh/sshd_config -h "$dir/key" -C user=vcap,host=localhost,addr=127.0.0.1 || rc=$?
    fi
    rm -rf "$dir"
    if [ "$made" = 1 ]; then rm -rf /run/sshd; fi
    exit "$rc"
  '
}

# sshd_config_file: the image's sshd_config on the build machine, ready for set_config_line: fails when missing or when an active Match block would capture appended settings.
sshd_config_file() {
  local f
  f=$(target /etc/ssh/sshd_config)
  [ -f "$f" ] || fail "/etc/ssh/sshd_config is missing: openssh-server must be installed before $stage_name"
  # set_config_line appends a missing key at the end, which a Match block would capture
  if grep -Eqi '^[[:space:]]*Match[[:space:]]' "$f"; then
    fail "sshd_config has an active Match block; a setting appended after it would only apply inside it"
  fi
  printf '%s\n' "$f"
}

# remove_config_lines FILE KEY...: drop every active "KEY ..." line (any case) of a
# space-separated config file.
remove_config_lines() {
  local file=$1 tmp
  shift
  tmp=$(mktemp "$file.XXXXXX")
  KEYS="$*" awk '
    BEGIN { n = split(tolower(ENVIRON["KEYS"]), k, " "); for (i = 1; i <= n; i++) drop[k[i]] = 1 }
    { split($0, w, /[[:space:]]+/); first = (w[1] == "" ? w[2] : w[1]); if (tolower(first) in drop) next; print }
  ' "$file" > "$tmp"
  chmod --reference="$file" "$tmp"
  chown --reference="$file" "$tmp"
  mv "$tmp" "$file"
}
