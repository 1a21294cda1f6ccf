# shellcheck shell=bash
# Running the image's programs on a build machine of another architecture (an arm64 VM on
# Apple Silicon building amd64 images, or the mirror direction this project tests): the
# kernel's binfmt_misc hands every ELF program of the image's architecture to an emulator,
# Rosetta where the VM shares it, else qemu-user. Only the chroot's programs are emulated;
# the build machine's own tools (mkfs, qemu-img, tar) run natively. Sourced by prelude.bash.
#
# Settings (from the settings file, src/catalog/architectures.ts):
#   os_arch                the image's architecture (Debian's name)
#   target_elf_machine     e_machine of its programs, in decimal
#   target_qemu_cpu        qemu-user's name for it (qemu-NAME-static)
#   target_rosetta_paths   space-separated places a VM may share Rosetta at (amd64 only)
# binfmt_dir and qemu_binfmt_dir are overridden by the tests only.

binfmt_dir=${binfmt_dir:-/proc/sys/fs/binfmt_misc}
# Debian's qemu-user-static links each emulator here under a -binfmt-P name, which tells it
# that binfmt_misc passes the program's own argv[0] (the P flag)
qemu_binfmt_dir=${qemu_binfmt_dir:-/usr/libexec/qemu-binfmt}

# build_machine_arch: the architecture this machine's kernel runs natively, in Debian's names.
# The kernel's, not dpkg's: an entry for the kernel's own machine would send every native
# program on the machine through the emulator.
build_machine_arch() {
  local m
  m=$(uname -m)
  case "$m" in
    x86_64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) echo "$m" ;;
  esac
}

# image_is_foreign: true when the image's programs cannot run natively here.
image_is_foreign() {
  [ "$(build_machine_arch)" != "${os_arch:?os_arch is not set}" ]
}

# elf_binfmt_magic ELF_MACHINE: the first 20 bytes of a 64-bit little-endian ELF executable or
# shared object for that e_machine, as binfmt_misc's \xNN escapes; elf_binfmt_mask: which of
# those bits must match. Ignored: the OS ABI byte (Linux programs say SYSV or GNU), and the
# low bit of e_type, so both ET_EXEC (2) and ET_DYN (3, every PIE program) match.
elf_binfmt_magic() {
  printf '\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x%02x\\x%02x' \
    $(($1 & 0xff)) $((($1 >> 8) & 0xff))
}
elf_binfmt_mask() {
  printf '%s' '\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
}

# image_emulator: "KIND PATH FLAGS" of the emulator for the image's programs, in the order a
# user would want: Rosetta (native speed on Apple Silicon) when the VM shares it, else
# qemu-user. FLAGS are binfmt_misc's, as the kernel lists them: F opens the emulator now, so a
# chroot needs no copy of it; C (with O, which it implies) runs a set-uid program with its
# own credentials, as the VM will: su as vcap must read /etc/shadow (password_policies' check
# failed without it); P keeps argv[0]. The entry matches only the image's architecture, which
# no native program of this machine has.
image_emulator() {
  local p qemu
  for p in ${target_rosetta_paths:-}; do
    if [ -f "$p" ] && [ -x "$p" ]; then
      printf 'rosetta %s OCF\n' "$p"
      return
    fi
  done
  p="$qemu_binfmt_dir/${target_qemu_cpu:?target_qemu_cpu is not set}-binfmt-P"
  if [ -x "$p" ]; then
    printf 'qemu-user %s POCF\n' "$p"
    return
  fi
  if qemu=$(command -v "qemu-$target_qemu_cpu-static"); then
    printf 'qemu-user %s OCF\n' "$qemu"
    return
  fi
  return 1
}

# require_image_emulator: config.sh's check; fails naming the package to install.
require_image_emulator() {
  image_emulator > /dev/null ||
    fail "the build machine is $(build_machine_arch) and the image $os_arch: its programs need an emulator, and neither Rosetta nor qemu-$target_qemu_cpu-static is there (install qemu-user-static, e.g. apt-get install qemu-user-static)"
}

# binfmt_entry_name: the binfmt_misc entry stemforge owns for the image's architecture.
binfmt_entry_name() {
  printf 'stemforge-%s\n' "$os_arch"
}

# binfmt_register_line PATH FLAGS: what is written to binfmt_misc's register file.
binfmt_register_line() {
  printf ':%s:M::%s:%s:%s:%s\n' "$(binfmt_entry_name)" "$(elf_binfmt_magic "${target_elf_machine:?target_elf_machine is not set}")" \
    "$(elf_binfmt_mask)" "$1" "$2"
}

# mount_binfmt_misc: binfmt_misc is a file system of its own, not mounted on every machine
# (no systemd here to do it).
mount_binfmt_misc() {
  [ -f "$binfmt_dir/register" ] && return
  mount -t binfmt_misc binfmt_misc "$binfmt_dir" ||
    fail "cannot mount binfmt_misc at $binfmt_dir, which runs the image's $os_arch programs here (load the module: modprobe binfmt_misc)"
}

# ensure_image_emulation: when the image is foreign, register its emulator with the kernel.
# Idempotent: an entry with the same emulator and flags is kept; another one (an older
# emulator, a disabled entry) is removed and written anew. The entry stays after the build:
# it only names an emulator this machine has, as Debian's own qemu-user-static entries do.
ensure_image_emulation() {
  image_is_foreign || return 0
  local emulator kind path flags entry
  emulator=$(image_emulator) || require_image_emulator
  read -r kind path flags <<< "$emulator"
  mount_binfmt_misc
  entry="$binfmt_dir/$(binfmt_entry_name)"
  if [ -f "$entry" ]; then
    if grep -qx enabled "$entry" && grep -qx "interpreter $path" "$entry" &&
      [ "$(sed -n 's/^flags: //p' "$entry" | fold -w1 | sort | tr -d '\n')" = "$(printf '%s' "$flags" | fold -w1 | sort | tr -d '\n')" ]; then
      return 0
    fi
    printf '%s' -1 > "$entry"
  fi
  binfmt_register_line "$path" "$flags" > "$binfmt_dir/register"
  log "the image's $os_arch programs run through $kind ($path) on this $(build_machine_arch) machine"
}

# elf_machine FILE: the e_machine field of an ELF file, in decimal (bytes 18-19, little-endian).
elf_machine() {
  od -An -j18 -N2 -tu2 --endian=little "$1" | tr -d ' '
}

# assert_image_architecture ROOT: the tree's own dpkg is built for os_arch (an OS image of
# another architecture would make a stemcell that cannot boot).
assert_image_architecture() {
  local found=''
  [ -f "$1/usr/bin/dpkg" ] && found=$(elf_machine "$1/usr/bin/dpkg")
  [ "$found" = "${target_elf_machine:?target_elf_machine is not set}" ] ||
    fail "the OS image is not built for $os_arch (its usr/bin/dpkg has ELF machine ${found:-none}, $os_arch's is $target_elf_machine): stemcells are amd64, build the OS image without --arch"
}
