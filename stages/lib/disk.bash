# shellcheck shell=bash
# Disk images without partition devices, for the image_* and packaging stages. Source it
# after the prelude:  source "$lib_dir/disk.bash"
#
# The disk is assembled as a plain file: sfdisk writes the msdos table into it, mke2fs writes
# each ext4 file system at its partition's offset (-E offset=, filled from a directory with
# -d), mkfs.vfat and mtools do the same for an EFI system partition, and GRUB's boot code is
# written into the MBR and the gap before the first partition by hand. No loop partition
# device, no device-mapper, no grub-install. Every mount (the offset loop mount of
# disk_update_files, the bind mounts of image_tool and disk_mke2fs) is made inside a private
# mount namespace, so it ends with the namespace's last process, even on kill -9.
#
# work/disk.env describes the disk for later stages (shell assignments, all sizes in sectors):
#   disk_layout        bios | efi | softlayer
#   disk_sectors       size of work/disk.raw
#   root_part, root_start, root_sectors, root_uuid        the ext4 root file system
#   esp_part, esp_start, esp_sectors, esp_volid           efi only: the FAT ESP (volid XXXX-XXXX)
#   boot_part, boot_start, boot_sectors, boot_uuid        softlayer only: the ext4 /boot
#   disk_grub_part     the partition holding GRUB's directory and the kernel
#   disk_grub_dir      GRUB's directory inside that file system (/boot/grub or /grub)
#   disk_kernel_dir    the kernel's directory inside that file system (/boot or empty)

# shellcheck source=compression.bash
source "$lib_dir/compression.bash"

disk_file="$work/disk.raw"
disk_env="$work/disk.env"
disk_sector=512
# the first partition starts at 1 MiB; GRUB's core image lives in the sectors before it
disk_first_sector=2048

# disk_require_tools CMD...: config.sh check for build machine commands.
disk_require_tools() {
  assert_available "$@"
}

# disk_assert_size: config.sh check of image_disk_size_mib (a whole number of MiB).
disk_assert_size() {
  local min=${1:-512}
  assert_value image_disk_size_mib
  [[ $image_disk_size_mib =~ ^[0-9]+$ ]] || fail "image_disk_size_mib must be a whole number of MiB, not '$image_disk_size_mib'"
  [ "$image_disk_size_mib" -ge "$min" ] || fail "image_disk_size_mib=$image_disk_size_mib is too small for this layout (at least $min MiB)"
}

# disk_assert_chroot_unmounted: mke2fs -d and tar copy whatever they find, so nothing may be
# mounted inside the chroot while its tree is read (run_in_chroot's mounts live in their own
# namespace and are gone when it returns).
disk_assert_chroot_unmounted() {
  local real
  [ -d "$chroot" ] || fail "no chroot at $chroot"
  real=$(realpath -- "$chroot")
  if awk '{ print $5 }' /proc/self/mountinfo | while IFS= read -r p; do printf '%b\n' "$p"; done |
    awk -v d="$real" 'index($0, d "/") == 1 { found = 1 } END { exit !found }'; then
    fail "something is mounted inside the chroot ($real); unmount it before the image is made"
  fi
}

new_uuid() { cat /proc/sys/kernel/random/uuid; }

# new_fat_volid: a random FAT volume id as mkfs.vfat -i takes it (8 hex digits).
new_fat_volid() { od -An -N4 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F; }

# disk_new SIZE_MIB SFDISK_LINES: a fresh sparse disk.raw with an msdos table from sfdisk
# partition lines ("start=…, size=…, type=…"). Removes the old disk and its description.
disk_new() {
  local size_mib=$1 lines=$2
  rm -f "$disk_env" "$disk_file"
  truncate -s "${size_mib}M" "$disk_file"
  printf 'label: dos\nunit: sectors\n\n%s\n' "$lines" | sfdisk --quiet --no-reread --no-tell-kernel "$disk_file" \
    || fail "sfdisk could not write the partition table"
}

# disk_check_partition PART START SECTORS TYPE: fail unless the table in disk.raw has
# partition PART exactly there (read back with sfdisk).
disk_check_partition() {
  local part=$1 start=$2 sectors=$3 type=$4 found
  found=$(sfdisk --dump "$disk_file" | sed -n "s|^${disk_file}${part} : start= *\([0-9]*\), size= *\([0-9]*\), type=\([0-9a-f]*\).*|\1 \2 \3|p")
  [ "$found" = "$start $sectors $type" ] || fail "partition $part of disk.raw is '$found', expected '$start $sectors $type'"
}

# disk_mke2fs START SECTORS UUID SOURCE_DIR [EMPTY_DIR]: an ext4 file system in the partition
# at START, filled from SOURCE_DIR (owners, modes, hard links, device nodes, xattrs). With
# EMPTY_DIR (a directory inside SOURCE_DIR, e.g. /boot), that directory is copied empty: an
# empty tmpfs covers it in a private mount namespace, which ends with mke2fs, even on kill.
# The feature set comes from the image's own /etc/mke2fs.conf, so the image's e2fsck and
# kernel know every feature the build machine's mke2fs turns on.
disk_mke2fs() {
  local start=$1 sectors=$2 uuid=$3 src=$4 empty=${5:-} conf=/etc/mke2fs.conf view="$work/mkfs-source" from mkfs
  if [ -f "$chroot/etc/mke2fs.conf" ]; then conf="$chroot/etc/mke2fs.conf"; fi
  from=$src
  if [ -n "$empty" ]; then from=$view; fi
  mkfs=(env MKE2FS_CONFIG="$conf" mke2fs -q -F -t ext4 -U "$uuid"
    -E "offset=$((start * disk_sector)),nodiscard,root_owner=0:0" -d "$from" "$disk_file" "$((sectors / 2))k")
  if [ -z "$empty" ]; then
    "${mkfs[@]}" || fail "mke2fs could not make the file system at sector $start from $src"
    return
  fi
  [[ -d "$src$empty" && ! -L "$src$empty" ]] || fail "$src$empty is not a directory"
  mkdir -p "$view"
  # shellcheck disable=SC2016 # the script's $1... are the inner bash's arguments
  unshare --mount --propagation private --fork --kill-child -- bash -euo pipefail -c '
    src=$1 view=$2 empty=$3
    shift 3
    mount --bind "$src" "$view"
    mount -t tmpfs -o mode=0755,size=64k stemforge-empty "$view$empty"
    "$@"
  ' mkfs-view "$src" "$view" "$empty" "${mkfs[@]}" \
    || fail "mke2fs could not make the file system at sector $start from $src without $empty"
  rmdir "$view"
}

# disk_write_fstab LINE...: the image's /etc/fstab (in the chroot, before its file system is made).
disk_write_fstab() {
  {
    echo "# /etc/fstab: written by stemforge ($stage_name); file systems by UUID"
    echo "# <file system> <mount point> <type> <options> <dump> <pass>"
    printf '%s\n' "$@"
  } | write_file 0644 "$(target /etc/fstab)"
}

# disk_mkfs_esp START SECTORS VOLID: an empty FAT32 file system (label EFI) in the ESP.
disk_mkfs_esp() {
  local start=$1 sectors=$2 volid=$3 out
  # mkfs.fat warns that the file is larger than the file system it was asked for; that is
  # the point of --offset, so only a failure is shown.
  out=$(mkfs.vfat --offset="$start" -F 32 -s 1 -n EFI -i "${volid//-/}" "$disk_file" "$((sectors / 2))" 2>&1) \
    || fail "mkfs.vfat failed: $out"
}

# esp_do TOOL ARGS...: run an mtools command on the ESP inside disk.raw (drive ::).
esp_do() {
  local tool=$1
  shift
  MTOOLS_SKIP_CHECK=1 "$tool" -i "$disk_file@@$((esp_start * disk_sector))" "$@"
}

# disk_env_write: record the disk's description for the later stages (atomically, last).
disk_env_write() {
  local k
  {
    echo "# written by $stage_name: the partitions of disk.raw (sectors of $disk_sector bytes)"
    for k in disk_layout disk_sectors root_part root_start root_sectors root_uuid \
      esp_part esp_start esp_sectors esp_volid boot_part boot_start boot_sectors boot_uuid \
      disk_grub_part disk_grub_dir disk_kernel_dir; do
      printf '%s=%q\n' "$k" "${!k:-}"
    done
  } > "$disk_env.part"
  mv -f "$disk_env.part" "$disk_env"
}

# disk_env_load [LAYOUT...]: read disk.env, failing unless the disk has one of LAYOUTs.
disk_env_load() {
  [[ -f "$disk_file" && -f "$disk_env" ]] || fail "no disk image in $work (run an image_create stage first)"
  # shellcheck source=/dev/null
  source "$disk_env"
  if [ $# -gt 0 ]; then
    case " $* " in *" $disk_layout "*) ;; *) fail "disk.raw has the '$disk_layout' layout, $stage_name expects: $*" ;; esac
  fi
  [ "$(stat -c %s "$disk_file")" -eq "$((disk_sectors * disk_sector))" ] || fail "disk.raw does not have the size disk.env records"
}

# disk_part_geometry PART: "START SECTORS" of a partition named in disk.env.
disk_part_geometry() {
  case "$1" in
    "$root_part") echo "$root_start $root_sectors" ;;
    "${boot_part:-none}") echo "$boot_start $boot_sectors" ;;
    "${esp_part:-none}") echo "$esp_start $esp_sectors" ;;
    *) fail "disk.env has no partition $1" ;;
  esac
}

# disk_update_files PART SRC:DEST...: copy files of the build machine into the ext4 file
# system of partition PART (DEST absolute inside it), keeping mode, owner and times. The
# partition is mounted through an offset loop device (mount -o loop sets autoclear) in a
# private mount namespace: when the namespace ends, even by kill -9 of this stage, the mount
# goes with it and the kernel detaches the loop device.
disk_update_files() {
  local part=$1 geometry start sectors mnt
  shift
  geometry=$(disk_part_geometry "$part")
  read -r start sectors <<< "$geometry"
  mkdir -p "$work/mnt"
  mnt=$(realpath -- "$work/mnt")
  # shellcheck disable=SC2016 # the script's $1... are the inner bash's arguments
  unshare --mount --propagation private --fork --kill-child -- bash -euo pipefail -c '
    disk=$1 mnt=$2 offset=$3 size=$4
    shift 4
    mount -t ext4 -o "loop,offset=$offset,sizelimit=$size" "$disk" "$mnt"
    for pair in "$@"; do
      src=${pair%%:*} dest=$mnt${pair#*:}
      mkdir -p "$(dirname "$dest")"
      # no symlink on the way may lead the copy out of the mounted file system
      [ "$(realpath -- "$(dirname "$dest")")" = "$(dirname "$dest")" ] || { echo "${pair#*:}: a symlink on the way" >&2; exit 1; }
      cp --preserve=mode,ownership,timestamps -- "$src" "$dest.stemforge-new"
      mv -f -- "$dest.stemforge-new" "$dest"
    done
    umount "$mnt"
  ' disk-update "$disk_file" "$mnt" "$((start * disk_sector))" "$((sectors * disk_sector))" "$@" \
    || fail "could not update partition $part of disk.raw"
  rmdir "$mnt" 2>/dev/null || true
}

# ---- GRUB ------------------------------------------------------------------------------

# image_tool DIR CMD...: run one of the image's own programs (GRUB's tools) in a plain
# chroot with a clean environment, with DIR of the build machine visible as /mnt in the
# image. The bind mount lives in a private mount namespace and ends with it.
image_tool() {
  local dir=$1
  shift
  [[ -d "$chroot/mnt" && ! -L "$chroot/mnt" ]] || fail "the image has no /mnt directory"
  # shellcheck disable=SC2016 # the script's $1... are the inner bash's arguments
  unshare --mount --propagation private --fork --kill-child -- bash -euo pipefail -c '
    dir=$1 root=$2
    shift 2
    mount --bind "$dir" "$root/mnt"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
  ' image-tool "$dir" "$chroot" "$@"
}

# kernel_version: the version of the kernel in the image's /boot (the newest if several).
kernel_version() {
  local k v
  v=$(for k in "$chroot"/boot/vmlinuz-*; do [ -f "$k" ] && printf '%s\n' "${k##*/vmlinuz-}"; done | sort -V | tail -n 1)
  [ -n "$v" ] || fail "no kernel in the image's /boot (system_kernel installs it)"
  [ -f "$chroot/boot/initrd.img-$v" ] || fail "the image has /boot/vmlinuz-$v but no /boot/initrd.img-$v"
  printf '%s\n' "$v"
}

# grub_password_hash: a PBKDF2 hash of a random password nobody knows, from the image's
# grub-mkpasswd-pbkdf2. GRUB then asks for a password to edit an entry or open its shell,
# and none ever will be given. The password goes through a pipe, never through argv.
grub_password_hash() {
  local password hash
  password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  hash=$(printf '%s\n%s\n' "$password" "$password" | run_in_chroot 'grub-mkpasswd-pbkdf2' | awk '/grub\.pbkdf2\./ { print $NF }')
  [[ $hash =~ ^grub\.pbkdf2\.sha512\.[0-9]+\.[0-9A-F]+\.[0-9A-F]+$ ]] || fail "grub-mkpasswd-pbkdf2 gave no hash"
  printf '%s\n' "$hash"
}

# grub_cfg ROOT_UUID GRUB_FS_UUID KERNEL_DIR VERSION HASH: the GRUB menu, on stdout. The
# kernel and initrd are found on the file system with GRUB_FS_UUID (the root, or /boot on
# softlayer), the kernel mounts the root by ROOT_UUID. One entry, bootable without password.
grub_cfg() {
  local root_uuid=$1 fs_uuid=$2 kdir=$3 version=$4 hash=$5 title
  title=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$chroot/usr/lib/os-release" 2>/dev/null | tr -d "'")
  title="${title:-$os_name} (stemcell)"
  cat << EOF
# written by stemforge ($stage_name); not by grub-mkconfig
set default="0"
set timeout=1
if serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1; then
  terminal_input --append serial
  terminal_output --append serial
fi
# a superuser with a random password nobody knows: no editing, no GRUB shell
set superusers="vcap"
password_pbkdf2 vcap $hash
menuentry '$title' --unrestricted --id stemcell {
  if [ "\$grub_platform" = efi ]; then insmod efi_gop; fi
  insmod part_msdos
  insmod ext2
  search --no-floppy --fs-uuid --set=root $fs_uuid
  linux $kdir/vmlinuz-$version root=UUID=$root_uuid ro $kernel_cmdline
  initrd $kdir/initrd.img-$version
}
EOF
}

# grub_defaults: /etc/default/grub, on stdout: what update-grub (grub-mkconfig) reads when a
# kernel upgrade on the VM regenerates grub.cfg (grub2-common's zz-update-grub kernel hook).
# Our menu is replaced then; these keep its kernel command line (audit, apparmor, no IPv6,
# the console) and the serial console, and boot the newest kernel at once (no submenu, no
# recovery entries, no other systems).
grub_defaults() {
  case "$kernel_cmdline" in
    *'"'* | *'$'* | *'`'* | *\\*) fail "kernel_cmdline has a character /etc/default/grub cannot hold: $kernel_cmdline" ;;
  esac
  cat << EOF
# written by stemforge ($stage_name): read by update-grub when a kernel upgrade regenerates
# /boot/grub/grub.cfg, so that the new menu boots with the stemcell's kernel command line.
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="$kernel_cmdline"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1"
GRUB_DISABLE_OS_PROBER=true
GRUB_DISABLE_RECOVERY=true
GRUB_DISABLE_SUBMENU=y
EOF
}

# Modules built into both core images: enough to find the file system by UUID and read the
# menu from it; the rest load from GRUB's directory on that file system.
grub_core_modules=(part_msdos ext2 fat search search_fs_uuid normal configfile echo test linux serial terminal)

# grub_bios_core PREFIX FS_UUID DIR: GRUB's i386-pc core image as DIR/core.img. PREFIX
# ("(hd0,msdos1)/boot/grub") is the fallback; the embedded config first looks for the file
# system by UUID, so the boot disk need not be the BIOS's first disk.
grub_bios_core() {
  local prefix=$1 fs_uuid=$2 dir=$3
  # shellcheck disable=SC2016 # $root is GRUB's variable, for GRUB's config
  printf 'search.fs_uuid %s root\nset prefix=($root)%s\n' "$fs_uuid" "${prefix#*)}" > "$dir/early.cfg"
  image_tool "$dir" grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -p "$prefix" -c /mnt/early.cfg \
    -o /mnt/core.img biosdisk "${grub_core_modules[@]}" || fail "grub-mkimage -O i386-pc failed"
}

# put_le OFFSET BYTES VALUE: write VALUE as a little-endian integer into disk.raw.
put_le() {
  local offset=$1 n=$2 value=$3 i hex=""
  for ((i = 0; i < n; i++)); do
    hex+=$(printf '\\x%02x' $(((value >> (8 * i)) & 0xff)))
  done
  # shellcheck disable=SC2059 # the escapes are the data
  printf "$hex" | dd of="$disk_file" bs=1 seek="$offset" conv=notrunc status=none
}

# get_hex OFFSET BYTES [FILE]: bytes of a file (disk.raw by default) as lowercase hex.
get_hex() {
  od -An -v -tx1 -j "$1" -N "$2" "${3:-$disk_file}" | tr -d ' \n'
}

# grub_bios_install CORE: what grub-bios-setup would do on a real disk (it refuses a file
# it cannot map to a device). GRUB's boot.img and diskboot.img layout:
#   MBR 0..439      boot.img (the disk signature and partition table behind it stay)
#   MBR 0x5c        sector of core.img's first sector, 8 bytes LE: 1
#   MBR 0x66        a jump that skips the boot drive check; grub-bios-setup replaces it by
#                   two NOPs for hard disks (works around BIOSes that pass a wrong drive)
#   sector 1…       core.img; its first sector (diskboot.img) ends with a blocklist entry
#                   for the rest: start 8 bytes, count 2 bytes, segment 2 bytes
grub_bios_install() {
  local core=$1 boot_img="$chroot/usr/lib/grub/i386-pc/boot.img" size sectors entry
  [ -f "$boot_img" ] || fail "the image has no GRUB boot.img (grub-pc-bin)"
  size=$(stat -c %s "$core")
  sectors=$(((size + disk_sector - 1) / disk_sector))
  [ "$sectors" -lt "$disk_first_sector" ] || fail "GRUB's core image ($size bytes) does not fit before the first partition"
  [ "$(get_hex 0x66 1 "$boot_img")" = eb ] || fail "boot.img has no boot drive check jump at 0x66: unknown GRUB layout"
  dd if="$boot_img" of="$disk_file" bs=440 count=1 conv=notrunc status=none
  put_le $((0x5c)) 8 1
  printf '\x90\x90' | dd of="$disk_file" bs=1 seek=$((0x66)) conv=notrunc status=none
  dd if="$core" of="$disk_file" bs="$disk_sector" seek=1 conv=notrunc status=none
  entry=$((disk_sector + disk_sector - 12))
  [ "$(get_hex $((entry + 10)) 2)" = 2008 ] || fail "core.img's first sector has no blocklist at its end: unknown GRUB layout"
  put_le "$entry" 8 2
  put_le $((entry + 8)) 2 $((sectors - 1))
  [ "$(get_hex 510 2)" = 55aa ] || fail "disk.raw has no MBR signature after the boot code was written"
  log "GRUB boot code in the MBR, core image ($size bytes) at sectors 1-$sectors"
}

# grub_efi_image DIR: GRUB's x86_64-efi image as DIR/BOOTX64.EFI, looking for its config
# in the directory it was loaded from (the ESP's /EFI/BOOT).
grub_efi_image() {
  local dir=$1
  image_tool "$dir" grub-mkimage -O x86_64-efi -d /usr/lib/grub/x86_64-efi -p /EFI/BOOT -o /mnt/BOOTX64.EFI \
    part_gpt efi_gop "${grub_core_modules[@]}" || fail "grub-mkimage -O x86_64-efi failed"
}

# grub_esp_fill EFI_IMAGE FS_UUID DIR: format the ESP and put GRUB on it as the removable
# media path (/EFI/BOOT/BOOTX64.EFI, found by every firmware without boot entries), with a
# grub.cfg that hands over to the menu in DIR of the file system FS_UUID.
grub_esp_fill() {
  local efi=$1 fs_uuid=$2 dir=$3 cfg
  disk_mkfs_esp "$esp_start" "$esp_sectors" "$esp_volid"
  cfg=$(mktemp -p "$work" esp-grub.XXXXXX)
  cat > "$cfg" << EOF
# written by stemforge ($stage_name): the menu is on the root file system
search --no-floppy --fs-uuid --set=root $fs_uuid
set prefix=(\$root)$dir
configfile \$prefix/grub.cfg
EOF
  esp_do mmd ::/EFI ::/EFI/BOOT
  esp_do mcopy -o "$efi" ::/EFI/BOOT/BOOTX64.EFI
  esp_do mcopy -o "$cfg" ::/EFI/BOOT/grub.cfg
  rm -f "$cfg"
  log "ESP: /EFI/BOOT/BOOTX64.EFI ($(stat -c %s "$efi") bytes) and grub.cfg"
}

# disk_install_grub: GRUB for the disk described by disk.env — BIOS boot code always, and
# on the efi layout also the ESP (the disk then boots either way) — plus the menu, written
# to the chroot and into the file system holding /boot.
disk_install_grub() {
  local version hash grub_fs_uuid cfg_path defaults_path
  version=$(kernel_version)
  hash=$(grub_password_hash)
  if [ "$disk_grub_part" = "$root_part" ]; then grub_fs_uuid=$root_uuid; else grub_fs_uuid=$boot_uuid; fi

  cfg_path=$(target /boot/grub/grub.cfg)
  grub_cfg "$root_uuid" "$grub_fs_uuid" "$disk_kernel_dir" "$version" "$hash" | write_file 0600 "$cfg_path"
  chown 0:0 "$cfg_path"
  defaults_path=$(target /etc/default/grub)
  grub_defaults | write_file 0644 "$defaults_path"
  chown 0:0 "$defaults_path"

  rm -rf "$work/grub"
  mkdir -p "$work/grub"
  grub_bios_core "(hd0,msdos$disk_grub_part)$disk_grub_dir" "$grub_fs_uuid" "$work/grub"
  grub_bios_install "$work/grub/core.img"
  if [ "$disk_layout" = efi ]; then
    grub_efi_image "$work/grub"
    grub_esp_fill "$work/grub/BOOTX64.EFI" "$grub_fs_uuid" "$disk_grub_dir"
  fi
  if [ "$disk_grub_part" = "$root_part" ]; then
    disk_update_files "$root_part" "$cfg_path:$disk_grub_dir/grub.cfg" "$defaults_path:/etc/default/grub"
  else
    disk_update_files "$disk_grub_part" "$cfg_path:$disk_grub_dir/grub.cfg"
    disk_update_files "$root_part" "$defaults_path:/etc/default/grub"
  fi
  rm -rf "$work/grub"
  log "kernel $version, root=UUID=$root_uuid, menu $disk_grub_dir/grub.cfg (0600) on partition $disk_grub_part"
}

# ---- packaging ------------------------------------------------------------------------

stemcell_dir="$work/stemcell"

# package_dir: a fresh directory in work/ for one packaging stage's intermediate files.
package_dir() {
  local dir="$work/package/$stage_name"
  rm -rf "$dir"
  mkdir -p "$dir"
  printf '%s\n' "$dir"
}

# tar_gz OUT DIR NAME... [-- TAR_OPTION...]: a gzip tar of NAMEs in DIR, numeric owners.
tar_gz() {
  local out=$1 dir=$2 names=() opts=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do names+=("$1"); shift; done
  if [ $# -gt 0 ]; then shift; opts=("$@"); fi
  tar --create --file=- --numeric-owner --sort=name "${opts[@]}" -C "$dir" -- "${names[@]}" | "$(gzip_program)" -c > "$out"
}

# publish_image FILE: make FILE the stemcell's image (work/stemcell/image), atomically.
publish_image() {
  local file=$1
  mkdir -p "$stemcell_dir"
  chmod 0644 "$file"
  mv -f "$file" "$stemcell_dir/image"
  log "image: $(stat -c %s "$stemcell_dir/image") bytes"
}
