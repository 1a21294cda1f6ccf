#!/usr/bin/env bash
# layers.bash: each stage of a phase runs on its own overlayfs layer (an upper dir over the
# layers before it), kept on the build machine by key, so the next build mounts the longest
# unchanged prefix and runs only from the first changed stage. Run as root.
#
#   layers.bash probe   ROOT KEY...              print how many leading KEYs have a complete layer
#   layers.bash mount   ROOT TARGET NEW LOWER... mount TARGET: the layers LOWER (oldest first)
#                                                under a fresh writable layer NEW (ROOT/NEW.part)
#   layers.bash view    ROOT TARGET LOWER...     mount TARGET read-only: the layers merged
#   layers.bash commit  ROOT TARGET KEY STAGE    unmount TARGET; KEY.part becomes the layer KEY
#   layers.bash take    ROOT TARGET KEY STAGE JOB  commit KEY.part if the stage job in folder JOB
#                                                ran on it (after its mount) and exited 0; else
#                                                exit 3 and leave it (a killed CLI's stage)
#   layers.bash discard ROOT TARGET KEY          unmount TARGET; throw KEY.part away
#   layers.bash umount  TARGET                   unmount TARGET if it is a mount point
#   layers.bash prune   ROOT MAX_MIB KEEP...     remove unfinished layers not mounted, then the least
#                                                recently used complete ones not in KEEP while over
#                                                MAX_MIB
#
# A layer is ROOT/KEY/{upper,meta}; its `meta` (stage, time, size) is written last, so a layer
# without it is not complete. Lower dirs are given relative to ROOT (mount runs there) to
# keep the mount options short: overlayfs takes at most a page of them.
set -euo pipefail

usage() {
  sed -n '3,20p' "$0" >&2
  exit 2
}

key_ok() {
  [[ "$1" =~ ^[0-9a-f]{16,64}$ ]] || { echo "layers: bad key '$1'" >&2; exit 2; }
}

complete() {
  [ -f "$1/$2/meta" ] && [ -d "$1/$2/upper" ]
}

# lowers ROOT KEY...: the overlay lowerdir list, newest first, relative to ROOT
lowers() {
  local root=$1 list='' key
  shift
  for key in "$@"; do
    key_ok "$key"
    complete "$root" "$key" || { echo "layers: layer $key is not complete" >&2; exit 1; }
    # a use: prune goes by the folder's time, least recently used first
    touch -- "$root/$key"
    list="$key/upper${list:+:$list}"
  done
  # overlayfs needs a lower dir even under the first layer
  printf '%s\n' "${list:+$list:}empty"
}

unmount() {
  if mountpoint -q -- "$1"; then umount -- "$1" 2>/dev/null || umount -l -- "$1"; fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  probe)
    root=${1:?}
    shift
    n=0
    for key in "$@"; do
      key_ok "$key"
      complete "$root" "$key" || break
      n=$((n + 1))
    done
    echo "$n"
    ;;
  mount)
    root=${1:?} target=${2:?} new=${3:?}
    shift 3
    key_ok "$new"
    mkdir -p -- "$root/empty" "$target"
    unmount "$target"
    rm -rf --one-file-system -- "${root:?}/$new.part"
    mkdir -p -- "$root/$new.part/upper" "$root/$new.part/work"
    # a stage job that finished after this moment ran on this layer (take)
    : >"$root/$new.part/mounted"
    list=$(lowers "$root" "$@")
    (cd -- "$root" && mount -t overlay overlay -o "lowerdir=$list,upperdir=$new.part/upper,workdir=$new.part/work" "$target")
    ;;
  view)
    root=${1:?} target=${2:?}
    shift 2
    mkdir -p -- "$root/empty" "$target"
    unmount "$target"
    list=$(lowers "$root" "$@")
    (cd -- "$root" && mount -t overlay overlay -o "ro,lowerdir=$list" "$target")
    ;;
  take)
    root=${1:?} target=${2:?} key=${3:?} stage=${4:?} job=${5:?}
    key_ok "$key"
    status=$(head -n 1 -- "$job/exit-status" 2>/dev/null || true)
    if [ "$status" != 0 ] || [ ! -f "$root/$key.part/mounted" ] || [ ! "$job/exit-status" -nt "$root/$key.part/mounted" ]; then
      echo "layers: no finished run of $stage on layer $key.part to take" >&2
      exit 3
    fi
    exec bash "$0" commit "$root" "$target" "$key" "$stage"
    ;;
  commit)
    root=${1:?} target=${2:?} key=${3:?} stage=${4:?}
    key_ok "$key"
    unmount "$target"
    [ -d "$root/$key.part/upper" ] || { echo "layers: no layer $key.part to commit" >&2; exit 1; }
    rm -rf --one-file-system -- "${root:?}/$key" "$root/$key.part/work"
    mv -- "$root/$key.part" "$root/$key"
    # the layer's size once, here, so prune never walks the whole store
    size=$(du -sm -- "$root/$key/upper" | cut -f1)
    printf 'stage=%s\ncommitted=%s\nsize_mib=%s\n' "$stage" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$size" >"$root/$key/meta.part"
    sync -f "$root/$key/meta.part" 2>/dev/null || true
    mv -- "$root/$key/meta.part" "$root/$key/meta"
    ;;
  discard)
    root=${1:?} target=${2:?} key=${3:?}
    key_ok "$key"
    unmount "$target"
    rm -rf --one-file-system -- "${root:?}/$key.part"
    ;;
  umount)
    unmount "${1:?}"
    ;;
  prune)
    root=${1:?} max_mib=${2:?}
    shift 2
    [ -d "$root" ] || exit 0
    declare -A keep=()
    for key in "$@"; do keep[$key]=1; done
    # unfinished layers are never mounted again, but one still mounted is a stage's at work
    # (a stage job that a killed stemforge left running, to be followed or taken by the next)
    for part in "$root"/*.part; do
      [ -d "$part" ] || continue
      grep -qF "upperdir=$(basename "$part")/upper" /proc/self/mounts || rm -rf --one-file-system -- "$part"
    done
    # complete layers, least recently used first (mount and view touch the layers they use)
    mapfile -t layers < <(find "$root" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[0-9a-f]{16,64}' -printf '%T@ %f\n' | sort -n | cut -d' ' -f2)
    declare -A sizes=()
    total=0
    for key in "${layers[@]}"; do
      size=$(sed -n 's/^size_mib=//p' "$root/$key/meta" 2>/dev/null)
      [[ "$size" =~ ^[0-9]+$ ]] || size=$(du -sm -- "$root/$key" | cut -f1)
      sizes[$key]=$size
      total=$((total + size))
    done
    for key in "${layers[@]}"; do
      [ "$total" -gt "$max_mib" ] || break
      [ -z "${keep[$key]:-}" ] || continue
      rm -rf --one-file-system -- "${root:?}/$key"
      total=$((total - sizes[$key]))
      echo "pruned layer $key (${sizes[$key]} MiB)"
    done
    ;;
  *) usage ;;
esac
