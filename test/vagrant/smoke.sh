#!/usr/bin/env bash
# End-to-end check of the whole VM test setup on this machine, timed step by step:
# install-host, host-up, proxy-up, build-box, vagrant box add, then one VM through
# up -> ssh-config -> plain OpenSSH -> apt-get update through the mirror proxy (and a 403
# for a host that is not a mirror) -> halt -> up -> destroy, then host-down, proxy-down
# and a check that nothing it started is left (processes, netns, mounts, loop devices).
#
# usage (as root): smoke.sh [--fixtures DIR]
#   --fixtures DIR  also save the real outputs of vagrant that unit tests parse
#                   (see DIR/README.md); the temp dir prefix becomes /STATE.
# Environment: NETNS (default sfvm), UP_TIMEOUT (s, default 400). Everything else
# (state, VAGRANT_HOME, VAGRANT_DOTFILE_PATH, the box) lives in a mktemp dir that is
# removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixtures=
if [ "${1:-}" = --fixtures ]; then
  mkdir -p "${2:?--fixtures needs a directory}"
  fixtures=$(cd "$2" && pwd)
fi

work=$(mktemp -d /var/tmp/sf-smoke.XXXXXX)
export VM_HOST_STATE=$work/state
. "$here/lib.sh"
require_root
export VAGRANT_HOME=$work/vagrant-home VAGRANT_DOTFILE_PATH=$work/dot VAGRANT_CWD=$work/proj
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_NO_COLOR=1
mkdir -p "$work/proj" "$VM_HOST_STATE"
UP_TIMEOUT=${UP_TIMEOUT:-400}
BOX_NAME=stemforge-test/bookworm
vm_created=0

timings=()
step() { # step NAME CMD...: run, time, remember
  local name=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  timings+=("$(awk -v n="$name" -v a="$t0" -v b="$t1" 'BEGIN { printf "%-28s %6.1f s", n, b - a }')")
  echo "== ${timings[-1]}" >&2
}
# vagrant inside the netns, bounded, SIGINT on timeout (vagrant then cleans up).
vg() { in_ns timeout -s INT -k 30 "$UP_TIMEOUT" vagrant "$@" </dev/null; }
vg_log() { vg "$@" >>"$work/vagrant.log" 2>&1 || { tail -n 40 "$work/vagrant.log" >&2; return 1; }; }
fixture() { # fixture NAME < output
  [ -n "$fixtures" ] || { cat >/dev/null; return 0; }
  sed "s#$work#/STATE#g" >"$fixtures/$1"
}
box_volumes() {
  virsh_ns vol-list default 2>/dev/null | awk '{print $1}' | grep "^${BOX_NAME//\//-VAGRANTSLASH-}_vagrant_box_image_" || true
}

cleanup() {
  local rc=$?
  set +e
  if [ "$vm_created" = 1 ] && netns_exists; then vg destroy -f >>"$work/vagrant.log" 2>&1; fi
  if netns_exists; then
    for v in $(box_volumes); do virsh_ns vol-delete --pool default "$v" >/dev/null; done
  fi
  "$here/host-down.sh"
  "$here/proxy-down.sh"
  [ "$rc" -eq 0 ] || { echo "smoke: FAILED (rc $rc); vagrant log:" >&2; tail -n 30 "$work/vagrant.log" >&2; }
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$work/proj/Vagrantfile" <<'EOF'
Vagrant.configure("2") do |config|
  config.vm.box = "stemforge-test/bookworm"
  config.vm.box_check_update = false
  config.vm.hostname = "sf-smoke"
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.provision "shell", inline: "echo provisioned-as-$(id -un) > /var/tmp/provisioned"
  config.vm.provider :libvirt do |libvirt|
    libvirt.driver = "qemu"
    libvirt.memory = 2048
    libvirt.cpus = 2
  end
end
EOF

step install-host "$here/install-host.sh"
step host-up "$here/host-up.sh"
step proxy-up "$here/proxy-up.sh"
step build-box "$here/build-box.sh" "$work/box"
# shellcheck source=/dev/null # written by build-box.sh
. "$work/box/box.env"
step "vagrant box add" vg_log box add --force "$work/box/bookworm.json"

vg --version | fixture vagrant-version.txt
vg plugin list --machine-readable | fixture plugin-list.machine-readable.txt
step "status (not created)" vg status --machine-readable >"$work/status0"
grep -q ',default,state,not_created$' "$work/status0"
fixture status-not_created.machine-readable.txt <"$work/status0"

vm_created=1
step "vagrant up (first)" vg_log up --provider=libvirt
step "status (running)" vg status --machine-readable >"$work/status1"
grep -q ',default,state,running$' "$work/status1"
fixture status-running.machine-readable.txt <"$work/status1"
step "vagrant ssh-config" vg ssh-config >"$work/ssh-config"
fixture ssh-config.txt <"$work/ssh-config"

ssh_vm() { in_ns ssh -F "$work/ssh-config" -o BatchMode=yes -o ConnectTimeout=20 default "$@" </dev/null; }
step "ssh (plain OpenSSH)" ssh_vm 'uname -r; sudo id -u; hostname; cat /var/tmp/provisioned' >"$work/ssh-out"
cat "$work/ssh-out" >&2
[[ "$(sed -n 2p "$work/ssh-out")" = 0 && "$(sed -n 3p "$work/ssh-out")" = sf-smoke &&
  "$(sed -n 4p "$work/ssh-out")" = provisioned-as-root ]] || { echo "smoke: unexpected ssh output" >&2; exit 1; }

step "apt-get update via proxy" ssh_vm 'sudo http_proxy=http://192.168.121.1:3128 apt-get update -q' >"$work/apt-update" 2>&1 ||
  { cat "$work/apt-update" >&2; exit 1; }
grep -q 'InRelease 200 ' "$VM_HOST_STATE/mirror-proxy.log"
denied=$(ssh_vm 'exec 3<>/dev/tcp/192.168.121.1/3128
  printf "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n" >&3
  head -n 1 <&3' | tr -d '\r')
echo "non-mirror host through the proxy: $denied" >&2
[[ $denied == "HTTP/1.1 403"* ]] || { echo "smoke: proxy did not refuse a non-mirror host" >&2; exit 1; }

step "vagrant halt" vg_log halt
step "status (shutoff)" vg status --machine-readable >"$work/status2"
grep -q ',default,state,shutoff$' "$work/status2"
fixture status-shutoff.machine-readable.txt <"$work/status2"
step "vagrant up (restart)" vg_log up
ssh_vm true
step "vagrant destroy -f" vg_log destroy -f
vm_created=0
vg status --machine-readable | grep -q ',default,state,not_created$'
for v in $(box_volumes); do virsh_ns vol-delete --pool default "$v" >/dev/null; done

step host-down "$here/host-down.sh"
step proxy-down "$here/proxy-down.sh"

# Nothing of ours may be left.
left=
netns_exists && left+=" netns:$NETNS"
for n in libvirtd virtlogd dnsmasq socat qemu-system-x86; do
  p=$(alive_named "$n")
  [ -z "$p" ] || left+=" $n:${p//$'\n'/,}"
done
for p in $(pgrep -f "mirror-proxy.mjs --socket $VM_HOST_STATE" || true); do
  alive "$p" && left+=" mirror-proxy:$p"
done
grep -q " $work" /proc/mounts && left+=" mounts"
losetup -a | grep -q "$work" && left+=" loop"
if [ -n "$left" ]; then
  echo "smoke: left running:$left" >&2
  exit 1
fi
echo "smoke: nothing left running (no libvirtd, virtlogd, dnsmasq, qemu, socat, proxy, netns)" >&2
echo "--- timings" >&2
printf '%s\n' "${timings[@]}" >&2
echo "smoke: OK" >&2
