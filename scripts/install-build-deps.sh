#!/usr/bin/env bash
# Installs the Debian packages stemforge needs on a Debian/Ubuntu machine (as root): to be
# a build machine itself (--machine local), to run the test suite (a real sshd) and the
# linters (npm run lint), plus any package named as an argument (test/vagrant/install-host.sh
# adds the VM host's).
# Idempotent: asks dpkg first; apt keeps its downloads in /var/cache/apt/archives.
set -euo pipefail

packages=(
  debootstrap           # base_debootstrap
  debian-archive-keyring
  openssh-server        # tests: a real sshd on 127.0.0.1
  openssh-client        # tests: ssh-keygen
  util-linux            # unshare, setpriv, losetup, mount
  procps                # tests: pgrep
  ca-certificates
  pigz                  # parallel gzip for the OS image and stemcell archives
  e2fsprogs fdisk dosfstools mtools   # disk images: ext4 at an offset, partition tables, the ESP
  qemu-utils bzip2      # qcow2, vhd, vmdk; the vhdx stemcell
  libxml2-utils         # xmllint checks the OVF descriptor
  qemu-system-x86 ovmf  # stemforge verify --boot (BIOS and UEFI)
  qemu-user-static      # an image of another architecture (--arch arm64; tests: e2e 6)
  zsh fish              # tests: shell completion
  tmux                  # tests: the wizard in a pseudo-terminal
  shellcheck            # npm run lint: the shell scripts (scripts/lint-shell.sh)
  "$@"
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-build-deps: run as root (it calls apt-get)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-build-deps: all packages present"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-build-deps: installed ${missing[*]}"
