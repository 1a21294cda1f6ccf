#!/usr/bin/env bash
# Builds a small Debian bookworm Vagrant box for the libvirt provider from Debian
# packages, and puts into OUTDIR:
#   bookworm.box    the box (plain tar: box.img + metadata.json + Vagrantfile)
#   box.img         the qcow2 disk alone (for a plain-qemu boot; treat it as read-only,
#                   it may be a hard link into the cache)
#   bookworm.json   a versioned local catalog: `vagrant box add OUTDIR/bookworm.json`
#   box.env         BOX_NAME, BOX_VERSION, BOX_KEY, BOX_KERNEL (shell syntax)
#
# usage (as root): build-box.sh OUTDIR
#
# The finished box is cached under $STEMFORGE_TEST_CACHE/box/<key>/ (default
# /var/cache/stemforge-test), keyed by a hash of this script, the version of
# linux-image-cloud-amd64 that the host's apt lists offer and the apt sources written
# into the box. A hit just links (or copies) the files into OUTDIR. The box version is
# derived from the key, so a changed box never reuses a stale libvirt pool volume.
#
# How the disk is made (this host kernel sees no partition tables, has no device-mapper
# and no nbd): a sparse raw file with an MBR and one bootable partition at 1 MiB; ext4
# (without the 64bit feature, which extlinux cannot read) made straight into the file at
# that offset; mounted through an offset loop device (mount -o loop,offset=...), which the
# kernel detaches by itself on unmount; extlinux in the partition and syslinux's mbr.bin
# in the MBR. The build runs in a private mount namespace, so even a killed build leaves
# no mount (and so no loop device) behind; a trap unmounts on a normal exit.
set -euo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
here=$(dirname "$self")
BOX_NAME=${BOX_NAME:-stemforge-test/bookworm}
CACHE=${STEMFORGE_TEST_CACHE:-/var/cache/stemforge-test}
SUITE=bookworm
DISK_MIB=4096
PART_START_MIB=1
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
INCLUDE=systemd,systemd-sysv,udev,kmod,dbus,procps,openssh-server,sudo,rsync,iproute2
# The builder's tools (templates/provision.sh installs the same): preinstalled so that the
# CI run of provisioning takes its already-installed path (seconds) instead of ~110 s of
# package installs under emulation; keeps the Vagrant test group under 15 minutes.
BUILDER_PACKAGES=(debootstrap debian-archive-keyring e2fsprogs dosfstools mtools fdisk qemu-utils
  xz-utils zstd bzip2 pigz ca-certificates grub-pc-bin grub-efi-amd64-bin)

say() { echo "build-box: $*" >&2; }
die() { say "$*"; exit 1; }

# ---------------------------------------------------------------------------------------
# apt sources for the box: the host's own Debian entries (parsed by mirror-proxy.mjs),
# with the host's codename mapped to $SUITE. Prints "URI<TAB>SUITE<TAB>COMPONENTS" lines.
box_sources() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  node "$here/mirror-proxy.mjs" --print-sources |
    awk -F '\t' -v from="$codename" -v to="$SUITE" 'BEGIN { OFS = "\t" }
      { if (from != "" && index($2, from) == 1) $2 = to substr($2, length(from) + 1); print }' |
    awk -F '\t' '!seen[$0]++'
}

# The sources as deb822 paragraphs, one per URI. The box reaches the mirror only
# through the proxy, which speaks plain http; the proxy forwards over https itself
# when the host's apt uses https for that host.
deb822_sources() {
  local sources=$1
  awk -F '\t' -v keyring="$KEYRING" '
    { uri = $1; sub(/^https:/, "http:", uri)
      if (!(uri in suites)) { order[++n] = uri; suites[uri] = $2; comps[uri] = $3 }
      else if (index(" " suites[uri] " ", " " $2 " ") == 0) suites[uri] = suites[uri] " " $2 }
    END { for (i = 1; i <= n; i++) {
            u = order[i]
            if (i > 1) print ""
            print "Types: deb"; print "URIs: " u; print "Suites: " suites[u]
            print "Components: " comps[u]; print "Signed-By: " keyring } }' <<<"$sources"
}

# ---------------------------------------------------------------------------------------
# internal: the build itself, run in a private mount namespace (see the bottom).
build_into() {
  local dir=$1 main_uri=$2 sources_file=$3
  local raw=$dir/disk.raw mnt=$dir/mnt
  local part_off=$((PART_START_MIB * 1024 * 1024))
  local part_bytes=$(((DISK_MIB - PART_START_MIB) * 1024 * 1024))

  # shellcheck disable=SC2317 # run by the EXIT trap
  cleanup_mounts() {
    set +e
    if mountpoint -q "$mnt"; then umount -R "$mnt" || umount -R -l "$mnt"; fi
  }
  trap cleanup_mounts EXIT

  mkdir -p "$mnt"
  truncate -s "${DISK_MIB}M" "$raw"
  printf 'label: dos\nstart=%s, type=83, bootable\n' "$((part_off / 512))" | sfdisk -q "$raw"
  mkfs.ext4 -q -F -O ^64bit -L root -E "offset=$part_off,lazy_itable_init=0,lazy_journal_init=0" \
    "$raw" "$((part_bytes / 1024))k"
  mount -o "loop,offset=$part_off,sizelimit=$part_bytes" "$raw" "$mnt"
  local dev uuid
  dev=$(findmnt -n -o SOURCE "$mnt")
  uuid=$(blkid -s UUID -o value "$dev")

  say "debootstrap $SUITE from $main_uri"
  local t0=$SECONDS
  debootstrap --variant=minbase --arch=amd64 --components=main --include="$INCLUDE" \
    --keyring="$KEYRING" --cache-dir="$CACHE/debootstrap" "$SUITE" "$mnt" "$main_uri" >"$dir/debootstrap.log" 2>&1 ||
    { tail -n 30 "$dir/debootstrap.log" >&2; die "debootstrap failed"; }
  say "debootstrap took $((SECONDS - t0)) s"

  for m in proc sys dev dev/pts; do mountpoint -q "$mnt/$m" && umount "$mnt/$m"; done
  mount -t proc proc "$mnt/proc"
  mount -t sysfs sysfs "$mnt/sys"
  mount --bind /dev "$mnt/dev"
  mount --bind /dev/pts "$mnt/dev/pts"
  mkdir -p "$CACHE/apt-archives/partial"
  mount --bind "$CACHE/apt-archives" "$mnt/var/cache/apt/archives"

  in_root() {
    chroot "$mnt" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive HOME=/root "$@"
  }
  put() { # put PATH MODE: stdin -> file in the image
    mkdir -p "$(dirname "$mnt$1")"
    cat >"$mnt$1"
    chmod "$2" "$mnt$1"
  }

  # No service starts inside the chroot; no docs, man pages or translations while building.
  printf '#!/bin/sh\nexit 101\n' | put /usr/sbin/policy-rc.d 0755
  put /etc/dpkg/dpkg.cfg.d/01-build-slim 0644 <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
EOF

  rm -f "$mnt/etc/apt/sources.list"
  put /etc/apt/sources.list.d/debian.sources 0644 <"$sources_file"
  put /etc/apt/apt.conf.d/20-no-translations 0644 <<<'Acquire::Languages "none";'

  # A small initramfs with just the drivers a libvirt/qemu VM needs for its root disk.
  put /etc/initramfs-tools/conf.d/10-vm 0644 <<<'MODULES=list'
  put /etc/initramfs-tools/modules 0644 <<'EOF'
virtio_pci
virtio_blk
virtio_scsi
sd_mod
ata_piix
ahci
ext4
EOF

  say "installing kernel and extlinux"
  t0=$SECONDS
  in_root apt-get update -qq
  in_root apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef \
    linux-image-cloud-amd64 extlinux syslinux-common "${BUILDER_PACKAGES[@]}" >"$dir/apt.log" 2>&1 ||
    { tail -n 30 "$dir/apt.log" >&2; die "apt-get install in the image failed"; }
  say "kernel install took $((SECONDS - t0)) s"
  local kernel
  # shellcheck disable=SC2016 # a dpkg-query format field
  kernel=$(in_root dpkg-query -W -f='${Version}' linux-image-cloud-amd64)
  [[ -e "$mnt/vmlinuz" && -e "$mnt/initrd.img" ]] || die "no /vmlinuz or /initrd.img symlink in the image"

  # Boot loader: extlinux in the partition (boot sector + ldlinux.sys), mbr.bin later.
  mkdir -p "$mnt/boot/extlinux"
  in_root extlinux --install /boot/extlinux >"$dir/extlinux.log" 2>&1 ||
    { cat "$dir/extlinux.log" >&2; die "extlinux --install failed"; }
  put /boot/extlinux/extlinux.conf 0644 <<EOF
DEFAULT debian
PROMPT 0
TIMEOUT 1
LABEL debian
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=UUID=$uuid ro quiet console=tty0 console=ttyS0,115200n8
EOF
  cp "$mnt/usr/lib/syslinux/mbr/mbr.bin" "$dir/mbr.bin"

  # No fsck at boot (saves ~1.5 s on the boot path under emulation; the disk is throw-away).
  put /etc/fstab 0644 <<<"UUID=$uuid / ext4 errors=remount-ro 0 0"
  put /etc/hostname 0644 <<<"$SUITE"
  put /etc/hosts 0644 <<EOF
127.0.0.1 localhost
127.0.1.1 $SUITE
::1 localhost ip6-localhost ip6-loopback
EOF
  # debootstrap copied the build host's resolver config; the VM needs none (apt goes
  # through the proxy by address).
  rm -f "$mnt/etc/resolv.conf"
  : | put /etc/resolv.conf 0644

  # DHCP on whatever the NIC is called.
  put /etc/systemd/network/50-dhcp.network 0644 <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
EOF
  in_root systemctl enable systemd-networkd.service >/dev/null 2>&1 || die "systemctl enable systemd-networkd failed"

  # User vagrant with Vagrant's well-known insecure key and password-less sudo.
  local pubkey
  pubkey=$(dpkg -L vagrant 2>/dev/null | grep -m1 '/keys/vagrant\.pub$' || true)
  [[ -n "$pubkey" && -f "$pubkey" ]] || die "vagrant's keys/vagrant.pub not found (is the vagrant package installed?)"
  in_root useradd --create-home --uid 1000 --user-group --shell /bin/bash vagrant
  echo 'vagrant:vagrant' | in_root chpasswd
  put /etc/sudoers.d/vagrant 0440 <<<'vagrant ALL=(ALL) NOPASSWD: ALL'
  mkdir -p "$mnt/home/vagrant/.ssh"
  put /home/vagrant/.ssh/authorized_keys 0600 <"$pubkey"
  chmod 0700 "$mnt/home/vagrant/.ssh"
  in_root chown -R vagrant:vagrant /home/vagrant/.ssh

  # SSH host keys: none in the image; ed25519 + ecdsa made on first boot (RSA takes
  # seconds under emulation).
  rm -f "$mnt"/etc/ssh/ssh_host_*
  put /etc/ssh/sshd_config.d/10-vm.conf 0644 <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
UseDNS no
EOF
  put /usr/local/sbin/ssh-host-keys 0755 <<'EOF'
#!/bin/sh
# First boot: make the SSH host keys this image ships without.
set -e
for t in ed25519 ecdsa; do
  [ -s /etc/ssh/ssh_host_${t}_key ] || ssh-keygen -q -t $t -N '' -f /etc/ssh/ssh_host_${t}_key
done
EOF
  put /etc/systemd/system/ssh.service.d/10-host-keys.conf 0644 <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/local/sbin/ssh-host-keys
ExecStartPre=/usr/sbin/sshd -t
EOF

  # Each VM gets its own machine id (and so its own DHCP client id).
  : >"$mnt/etc/machine-id"
  rm -f "$mnt/var/lib/dbus/machine-id"
  in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
    e2scrub_reap.service systemd-firstboot.service >/dev/null 2>&1 || die "systemctl mask failed"

  # Clean up: caches, lists, logs, docs, build-only settings. (apt-get clean only after
  # the shared archive cache is unmounted: it would empty that instead. What it then
  # removes are the .debs debootstrap left in the image.)
  umount "$mnt/var/cache/apt/archives"
  in_root apt-get clean
  rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/var/cache/apt/*.bin "$mnt"/var/cache/debconf/*-old \
    "$mnt"/var/log/*.log "$mnt"/var/log/apt/* "$mnt"/tmp/* "$mnt"/var/tmp/* \
    "$mnt"/usr/share/man/* "$mnt"/usr/share/info/* "$mnt"/usr/share/lintian/*
  find "$mnt/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$mnt/usr/share/locale" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} + 2>/dev/null || true
  rm -f "$mnt/usr/sbin/policy-rc.d" "$mnt/etc/dpkg/dpkg.cfg.d/01-build-slim"

  umount "$mnt/dev/pts" "$mnt/dev" "$mnt/sys" "$mnt/proc"
  # Freed blocks of the still-open journal transaction are not trimmed: sync first.
  sync
  fstrim "$mnt"
  say "root filesystem uses $(df -m --output=used "$mnt" | tail -n 1 | tr -d ' ') MiB"
  umount "$mnt"
  trap - EXIT

  dd if="$dir/mbr.bin" of="$raw" bs=440 count=1 conv=notrunc status=none
  qemu-img convert -c -O qcow2 -o compression_type=zstd "$raw" "$dir/box.img"
  rm -f "$raw" "$dir/mbr.bin"
  rmdir "$mnt"

  printf '{"provider":"libvirt","format":"qcow2","virtual_size":%d}\n' "$((DISK_MIB / 1024))" >"$dir/metadata.json"
  cat >"$dir/Vagrantfile" <<'EOF'
# Defaults shipped inside the stemforge test box; a project Vagrantfile overrides them.
Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.provider :libvirt do |libvirt|
    libvirt.driver = "qemu"
    libvirt.disk_bus = "virtio"
    libvirt.nic_model_type = "virtio"
  end
end
EOF
  tar -cf "$dir/bookworm.box" -C "$dir" metadata.json Vagrantfile box.img
  sha256sum "$dir/bookworm.box" | cut -d' ' -f1 >"$dir/bookworm.box.sha256"
  echo "$kernel" >"$dir/kernel-version"
}

if [ "${1:-}" = "--build-into" ]; then
  shift
  build_into "$@"
  exit 0
fi

# ---------------------------------------------------------------------------------------
out=${1:-}
[ -n "$out" ] || die "usage: build-box.sh OUTDIR"
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, mount)"
mkdir -p "$out" "$CACHE/box" "$CACHE/debootstrap"
out=$(cd "$out" && pwd)

sources=$(box_sources)
main_uri=$(awk -F '\t' -v s="$SUITE" '$2 == s { print $1; exit }' <<<"$sources")
[ -n "$main_uri" ] || die "the host's apt configuration has no Debian entry for suite $SUITE"
kernel_candidate=$(apt-cache policy linux-image-cloud-amd64 2>/dev/null | awk '/Candidate:/ { print $2 }')
[[ -n "$kernel_candidate" && "$kernel_candidate" != "(none)" ]] ||
  die "apt knows no linux-image-cloud-amd64 (run apt-get update)"
sources822=$(deb822_sources "$sources")
key=$({ sha256sum <"$self"; echo "$kernel_candidate"; echo "$sources822"; } | sha256sum | cut -c1-16)
version="1.0.$((16#${key:0:7}))"
entry=$CACHE/box/$key

# One build at a time per cache (a second caller waits, then finds the cached box).
exec 9>"$CACHE/box/.lock"
flock 9

if [ -f "$entry/bookworm.box.sha256" ]; then
  say "cached box $key (kernel $(cat "$entry/kernel-version"))"
else
  say "building box $key (kernel candidate $kernel_candidate)"
  started=$SECONDS
  tmp=$(mktemp -d "$CACHE/box/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM
  printf '%s\n' "$sources822" >"$tmp/debian.sources"
  unshare --mount --propagation private -- bash "$self" --build-into "$tmp" "$main_uri" "$tmp/debian.sources"
  rm -f "$tmp"/*.log
  mv "$tmp" "$entry"
  trap - EXIT
  say "built in $((SECONDS - started)) s: $(du -m "$entry/box.img" | cut -f1) MiB qcow2"
  # Keep the two newest entries; older ones are only disk space.
  # shellcheck disable=SC2012 # entries are named by their hex key; ls -t lists them newest first
  ls -1dt "$CACHE"/box/*/ 2>/dev/null | tail -n +3 | xargs -r rm -rf
fi

for f in bookworm.box box.img; do
  rm -f "$out/$f"
  ln "$entry/$f" "$out/$f" 2>/dev/null || cp "$entry/$f" "$out/$f"
done
checksum=$(cat "$entry/bookworm.box.sha256")
kernel=$(cat "$entry/kernel-version")
cat >"$out/bookworm.json" <<EOF
{
  "name": "$BOX_NAME",
  "description": "Debian $SUITE for stemforge's VM tests (built by test/vagrant/build-box.sh, key $key)",
  "versions": [
    {
      "version": "$version",
      "providers": [
        {
          "name": "libvirt",
          "url": "file://$out/bookworm.box",
          "checksum_type": "sha256",
          "checksum": "$checksum"
        }
      ]
    }
  ]
}
EOF
cat >"$out/box.env" <<EOF
BOX_NAME=$BOX_NAME
BOX_VERSION=$version
BOX_KEY=$key
BOX_KERNEL=$kernel
EOF
say "box $BOX_NAME $version in $out (catalog bookworm.json)"
