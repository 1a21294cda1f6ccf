#!/usr/bin/env bash
# Locks the password databases to root (mode 0000) and strips setuid/setgid bits from all binaries but sudo/su.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

[ -d "$chroot/etc" ] || fail "no chroot at $chroot"

# Only root (through CAP_DAC_OVERRIDE) may read the password hashes. The "-" backups that
# the shadow tools keep hold the same hashes, so they get the same treatment.
for f in etc/shadow etc/gshadow etc/shadow- etc/gshadow-; do
  path="$chroot/$f"
  if [ -f "$path" ] && [ ! -L "$path" ]; then
    chown root:root "$path"
    chmod 0000 "$path"
    log "/$f: root:root 0000"
  elif [ "$f" = etc/shadow ] || [ "$f" = etc/gshadow ]; then
    fail "/$f is missing from the chroot"
  fi
done

# Regular files only: a setgid directory just makes new files inherit its group, it grants
# no privilege. -xdev keeps find inside the chroot's own filesystem.
stripped=0
while IFS= read -r -d '' path; do
  rel=${path#"$chroot"}
  case "$rel" in
    /usr/bin/sudo | /usr/bin/su | /usr/bin/sudoedit | /bin/su | /bin/sudo | /bin/sudoedit)
      log "keeping $(stat -c '%A' "$path") $rel"
      continue
      ;;
  esac
  # stat inside the chroot, so owner and group are named from the image's own databases.
  log "stripping setuid/setgid: $(chroot "$chroot" stat -c '%A %U:%G' "$rel") $rel"
  chmod u-s,g-s "$path"
  stripped=$((stripped + 1))
done < <(find "$chroot" -xdev -type f \( -perm -4000 -o -perm -2000 \) -print0)
log "stripped setuid/setgid from $stripped files"

left=$(find "$chroot" -xdev -type f \( -perm -4000 -o -perm -2000 \) \
  ! -path "$chroot/usr/bin/sudo" ! -path "$chroot/usr/bin/su" ! -path "$chroot/usr/bin/sudoedit" \
  ! -path "$chroot/bin/su" ! -path "$chroot/bin/sudo" ! -path "$chroot/bin/sudoedit")
[ -z "$left" ] || fail "setuid/setgid files remain: $left"
