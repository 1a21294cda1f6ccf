#!/usr/bin/env bash
# release-mounts.bash DIR: unmount everything mounted at or below DIR (deepest first) and
# detach loop devices backed by files below DIR. The runner calls it after every build,
# failed or interrupted ones included; it prints what it released and nothing else.
set -euo pipefail
dir=$(realpath -m -- "${1:?usage: release-mounts.bash DIR}")
[ "$dir" != / ] || { echo "release-mounts: refusing to work on /" >&2; exit 2; }

# mountinfo field 5 is the mount point with spaces etc. octal-escaped
mapfile -t points < <(
  awk '{ print $5 }' /proc/self/mountinfo |
    while IFS= read -r p; do printf '%b\n' "$p"; done |
    awk -v d="$dir" '$0 == d || index($0, d "/") == 1' |
    sort -r
)
for p in "${points[@]}"; do
  umount "$p" 2>/dev/null || umount -l "$p"
  echo "released mount $p"
done

if command -v losetup >/dev/null; then
  losetup -n -O NAME,BACK-FILE 2>/dev/null | while read -r name back; do
    case "$back" in
      "$dir"/*) losetup -d "$name" && echo "released loop device $name ($back)" ;;
    esac
  done
fi
