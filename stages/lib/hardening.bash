# shellcheck shell=bash
# Shared by the hardening stages (password_policies, restrict_su_command, tty_config,
# bosh_audit_debian, bosh_audit_ubuntu). Source it after the prelude:
#   source "$lib_dir/hardening.bash"
# Every function here edits files below "$chroot" and is idempotent: running it again on
# its own result changes nothing (files whose content would not change are not rewritten).

# replace_if_changed NEW FILE: move NEW over FILE (keeping FILE's mode and owner) when the
# content differs, else drop NEW, so a re-run leaves files and their mtimes alone.
replace_if_changed() {
  local new=$1 file=$2
  if [ ! -e "$file" ]; then
    mv "$new" "$file"
    return 0
  fi
  if cmp -s "$new" "$file"; then
    rm -f "$new"
    return 0
  fi
  chmod --reference="$file" "$new"
  chown --reference="$file" "$new"
  mv "$new" "$file"
}

# install_if_changed MODE FILE < content: write FILE (root-owned, MODE) from standard
# input, leaving it untouched when content, mode and owner are already right.
install_if_changed() {
  local mode=$1 file=$2 tmp
  mkdir -p "$(dirname "$file")"
  tmp=$(mktemp "$file.XXXXXX")
  cat > "$tmp"
  chown root:root "$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$file" ] && [ ! -L "$file" ] && cmp -s "$tmp" "$file" &&
    [ "$(stat -c '%a %u %g' "$file")" = "$(stat -c '%a %u %g' "$tmp")" ]; then
    rm -f "$tmp"
  else
    mv "$tmp" "$file"
  fi
}

# set_active_key FILE KEY VALUE [SEP]: make the first active (uncommented) "KEY<SEP>VALUE"
# line of a key/value file the only active one, in place, or append it when there is none.
# Unlike set_config_line, comment lines that merely mention KEY (login.defs documents
# every key in a comment above it) are left as they are. SEP defaults to a tab.
set_active_key() {
  local file=$1 key=$2 value=$3 sep=${4-$'\t'} tmp
  [ -f "$file" ] || fail "$file is missing"
  tmp=$(mktemp "$file.XXXXXX")
  awk -v key="$key" -v line="$key$sep$value" '
    {
      probe = $0
      sub(/^[ \t]+/, "", probe)
      n = split(probe, w, /[ \t=]+/)
      if (n > 0 && w[1] == key && probe !~ /^#/) {
        if (!done) { print line; done = 1 }
        next
      }
      print
    }
    END { if (!done) print line }
  ' "$file" > "$tmp"
  replace_if_changed "$tmp" "$file"
}

############################################################################################
# PAM
############################################################################################

# pam_module_dir: the chroot's PAM module directory (where pam_unix.so lives), host path.
pam_module_dir() {
  local hit
  hit=$(find "$chroot/usr/lib" "$chroot/lib" -path '*/security/pam_unix.so' -print -quit 2>/dev/null || true)
  [ -n "$hit" ] || fail "no pam_unix.so in the chroot: libpam-modules must be installed"
  dirname "$hit"
}

# pam_edit FILE OP TYPE MODULE [TEXT] [EXTRA]: one surgical edit of a pam.d file.
#   drop   remove every active TYPE rule that calls MODULE
#   first  insert the rule TEXT before the first active TYPE rule (MODULE is ignored)
#   last   insert the rule TEXT after the last active TYPE rule (MODULE is ignored)
#   before insert TEXT before the first active TYPE rule calling MODULE (fails if none)
#   after  insert TEXT after the first active TYPE rule calling MODULE (fails if none)
#   args   on every active TYPE rule calling MODULE, remove the arguments named in TEXT
#          (name = the part before '=') and those named in EXTRA, then append TEXT
# Numeric jumps ("[success=2 default=ignore]") count the rules of one type, so inserting
# or removing a rule moves their targets. pam_edit keeps every jump landing on the rule
# it landed on before the edit (a removed target: the next surviving rule), which is what
# keeps e.g. pam_unix's "skip pam_deny on success" right when a rule goes in after it.
# A file that mixes numeric jumps with includes is refused: the include's rules would
# count too, and they are not in this file.
pam_edit() {
  local file=$1 op=$2 type=$3 module=$4 text=${5:-} extra=${6:-} tmp rc=0
  [ -f "$file" ] || fail "pam_edit: $file is missing"
  case "$op" in drop | first | last | before | after | args) ;; *) fail "pam_edit: unknown op '$op'" ;; esac
  tmp=$(mktemp "$file.XXXXXX")
  awk -v op="$op" -v want_type="$type" -v want_mod="$module" -v text="$text" -v extra="$extra" '
    # Splits a pam.d line into its parts; returns 0 for comments and blank lines, 1 for a
    # rule, 2 for an "@include". Sets p_lead p_type p_ws1 p_ctl p_ws2 p_mod p_rest.
    function parse(line,    s, i) {
      s = line
      match(s, /^[ \t]*/); p_lead = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
      if (s == "" || substr(s, 1, 1) == "#") return 0
      if (s ~ /^@include([ \t]|$)/) return 2
      match(s, /^[^ \t]+/); p_type = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
      match(s, /^[ \t]*/); p_ws1 = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
      if (substr(s, 1, 1) == "[") {
        i = index(s, "]")
        if (i == 0) { p_ctl = s; s = "" } else { p_ctl = substr(s, 1, i); s = substr(s, i + 1) }
      } else {
        match(s, /^[^ \t]+/); p_ctl = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
      }
      match(s, /^[ \t]*/); p_ws2 = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
      match(s, /^[^ \t]*/); p_mod = substr(s, 1, RLENGTH); p_rest = substr(s, RLENGTH + 1)
      return 1
    }
    function norm_type(t) { t = tolower(t); sub(/^-/, "", t); return t }
    function base(m) { sub(/.*\//, "", m); return m }
    function arg_name(a) { sub(/=.*/, "", a); return a }
    # the control with every numeric action replaced from newn[] (in token order)
    function rebuild_ctl(ctl, idx,    inner, n, tok, k, out, v, a) {
      inner = substr(ctl, 2, length(ctl) - 2)
      n = split(inner, tok, /[ \t]+/)
      out = ""; k = 0
      for (a = 1; a <= n; a++) {
        if (tok[a] == "") continue
        v = tok[a]
        if (v ~ /=[0-9]+$/) { k++; sub(/=[0-9]+$/, "=" newn[idx, k], v) }
        out = out (out == "" ? "" : " ") v
      }
      return "[" out "]"
    }
    { line[NR] = $0 }
    END {
      n = NR
      includes = 0; jumps = 0
      for (i = 1; i <= n; i++) {
        kind[i] = parse(line[i])
        if (kind[i] == 2) { includes = 1; continue }
        if (kind[i] != 1) continue
        t = norm_type(p_type)
        if (p_ctl == "include" || p_ctl == "substack") includes = 1
        typ[i] = t; mod[i] = base(p_mod); ctl[i] = p_ctl
        cnt[t]++; ord[i] = cnt[t]; at[t, cnt[t]] = i
        lead[i] = p_lead; rtype[i] = p_type; ws1[i] = p_ws1; ws2[i] = p_ws2; rmod[i] = p_mod; rest[i] = p_rest
      }
      # every numeric jump as the line it lands on (0: past the last rule of its type)
      for (i = 1; i <= n; i++) {
        if (kind[i] != 1 || substr(ctl[i], 1, 1) != "[") continue
        inner = substr(ctl[i], 2, length(ctl[i]) - 2)
        m = split(inner, tok, /[ \t]+/); k = 0
        for (a = 1; a <= m; a++) {
          if (tok[a] !~ /=[0-9]+$/) continue
          k++; jumps = 1
          v = tok[a]; sub(/^.*=/, "", v); v = v + 0
          dest = ord[i] + v + 1
          tgt[i, k] = (dest <= cnt[typ[i]]) ? at[typ[i], dest] : 0
          over[i, k] = (dest <= cnt[typ[i]]) ? 0 : dest - cnt[typ[i]] - 1
        }
        njump[i] = k
      }
      if (jumps && includes) { print "numeric jumps together with includes: not edited" > "/dev/stderr"; exit 3 }
      if (op != "drop" && op != "args") {
        if (parse(text) != 1 || norm_type(p_type) != want_type) { print "the inserted text is not a " want_type " rule" > "/dev/stderr"; exit 3 }
        if (substr(p_ctl, 1, 1) == "[" && p_ctl ~ /=[0-9]+/) { print "an inserted rule must not jump" > "/dev/stderr"; exit 3 }
      }

      # the edit: deletions, one insertion before (ins_b) or after (ins_a) a line
      found = 0; first_t = 0; last_t = 0
      for (i = 1; i <= n; i++) {
        if (kind[i] != 1 || typ[i] != want_type) continue
        if (!first_t) first_t = i
        last_t = i
        if (mod[i] != want_mod) continue
        found++
        if (op == "drop") del[i] = 1
        if ((op == "before" || op == "after") && found == 1) { if (op == "before") ins_b[i] = text; else ins_a[i] = text }
        if (op == "args") {
          m = split(text " " extra, tok, /[ \t]+/)
          for (a = 1; a <= m; a++) if (tok[a] != "") drop_arg[arg_name(tok[a])] = 1
          if (rest[i] ~ /\[/) { print "bracketed module arguments on line " i ": not edited" > "/dev/stderr"; exit 3 }
          m = split(rest[i], tok, /[ \t]+/); out = ""
          for (a = 1; a <= m; a++) if (tok[a] != "" && !(arg_name(tok[a]) in drop_arg)) out = out " " tok[a]
          if (text != "") out = out " " text
          rest[i] = out
          changed[i] = 1
        }
      }
      if ((op == "before" || op == "after") && !found) { print "no active " want_type " rule calls " want_mod > "/dev/stderr"; exit 4 }
      if (op == "first") { if (first_t) ins_b[first_t] = text; else tail = text }
      if (op == "last") { if (last_t) ins_a[last_t] = text; else tail = text }

      # new positions of the surviving rules of the edited type
      new_cnt = 0
      for (i = 1; i <= n; i++) {
        if (i in ins_b) new_cnt++
        if (kind[i] == 1 && typ[i] == want_type && !(i in del)) { new_cnt++; npos[i] = new_cnt }
        else if (kind[i] == 1 && !(i in del)) { other[typ[i]]++; npos[i] = other[typ[i]] }
        if (i in ins_a) new_cnt++
      }
      if (tail != "") new_cnt++
      total[want_type] = new_cnt
      for (t in other) if (t != want_type) total[t] = other[t]

      for (i = 1; i <= n; i++) {
        if (!(i in njump) || (i in del)) continue
        for (k = 1; k <= njump[i]; k++) {
          d = tgt[i, k]
          while (d != 0 && (d in del)) { nxt = ord[d] + 1; d = (nxt <= cnt[typ[d]]) ? at[typ[d], nxt] : 0 }
          if (d != 0) newn[i, k] = npos[d] - npos[i] - 1
          else newn[i, k] = total[typ[i]] - npos[i] + over[i, k]
        }
        ctl[i] = rebuild_ctl(ctl[i], i)
        changed[i] = 1
      }

      for (i = 1; i <= n; i++) {
        if (i in ins_b) print ins_b[i]
        if (!(i in del)) {
          if (i in changed) print lead[i] rtype[i] ws1[i] ctl[i] ws2[i] rmod[i] rest[i]
          else print line[i]
        }
        if (i in ins_a) print ins_a[i]
      }
      if (tail != "") print tail
    }
  ' "$file" > "$tmp" || rc=$?
  if [ "$rc" != 0 ]; then
    rm -f "$tmp"
    fail "pam_edit $op $type $module on ${file#"$chroot"} failed"
  fi
  replace_if_changed "$tmp" "$file"
}

# pam_has_rule FILE TYPE MODULE: whether FILE has an active TYPE rule calling MODULE.
pam_has_rule() {
  awk -v t="$2" -v m="$3" '
    { s = $0; sub(/^[ \t]+/, "", s) }
    s == "" || s ~ /^#/ { next }
    {
      ty = tolower($1); sub(/^-/, "", ty)
      if (ty != t) next
      if (substr($2, 1, 1) == "[") { for (i = 2; i <= NF && $i !~ /\]$/; i++); mi = i + 1 } else mi = 3
      mo = $mi; sub(/.*\//, "", mo)
      if (mo == m) { found = 1; exit }
    }
    END { exit found ? 0 : 1 }
  ' "$1"
}

# pam_remove_nullok FILE: drop the nullok and nullok_secure arguments from FILE's active rules.
pam_remove_nullok() {
  local file=$1 tmp
  tmp=$(mktemp "$file.XXXXXX")
  awk '
    {
      s = $0; sub(/^[ \t]+/, "", s)
      if (s != "" && s !~ /^#/) {
        while (match($0, /[ \t]+nullok(_secure)?([ \t]|$)/)) {
          tail = substr($0, RSTART + RLENGTH)
          sep = (tail == "") ? "" : " "
          $0 = substr($0, 1, RSTART - 1) sep tail
        }
      }
      print
    }
  ' "$file" > "$tmp"
  replace_if_changed "$tmp" "$file"
}

# pam_check_modules: fail unless every module the active pam.d rules name (and every
# service they include) is in the chroot. Rules starting with "-" may name absent modules.
pam_check_modules() {
  local dir missing
  dir=$(pam_module_dir)
  missing=$(
    for f in "$chroot"/etc/pam.d/*; do
      [ -f "$f" ] || continue
      awk -v f="${f##*/}" '
        { s = $0; sub(/^[ \t]+/, "", s) }
        s == "" || s ~ /^#/ { next }
        $1 == "@include" { print f, "include", $2; next }
        substr($1, 1, 1) == "-" { next }
        {
          if (substr($2, 1, 1) == "[") { for (i = 2; i <= NF && $i !~ /\]$/; i++); mi = i + 1; c = "jump" } else { mi = 3; c = $2 }
          if (c == "include" || c == "substack") print f, "include", $mi
          else print f, "module", $mi
        }
      ' "$f"
    done | while read -r file kind name; do
      case "$kind" in
        include) [ -f "$chroot/etc/pam.d/$name" ] || echo "$file: service $name" ;;
        module)
          case "$name" in
            /*) [ -e "$chroot$name" ] || echo "$file: $name" ;;
            *) [ -e "$dir/$name" ] || echo "$file: $name" ;;
          esac
          ;;
      esac
    done
  )
  [ -z "$missing" ] || fail "pam.d names modules that are not in the chroot: $(tr '\n' ';' <<< "$missing")"
}

############################################################################################
# Audit (bosh_audit_debian, bosh_audit_ubuntu)
############################################################################################

audit_rules_dir_rel=/etc/audit/rules.d
audit_static_rules=50-bosh.rules
audit_privileged_rules=60-bosh-privileged.rules

# audit_install: auditd from the release's archive, no daemon started, no lists left.
audit_install() {
  # (skipped when installed: apt-get would only log another dpkg run into the image)
  # shellcheck disable=SC2016 # a dpkg-query format field
  if [ "$(chroot "$chroot" dpkg-query -W -f='${db:Status-Status}' auditd 2>/dev/null)" = installed ]; then
    log "auditd is installed already"
    return 0
  fi
  pkg_install auditd
  drop_apt_lists
  assert_no_chroot_processes
  [ -x "$chroot/sbin/auditd" ] || [ -x "$chroot/usr/sbin/auditd" ] || fail "auditd is not installed after apt-get"
}

# audit_configure_service: the rules come from rules.d through augenrules, and auditd does
# not start at boot: bosh_log_audit_start's script starts it once /var/log is the data disk.
audit_configure_service() {
  local unit='' dropin="$chroot/etc/systemd/system/auditd.service.d/10-bosh-augenrules.conf" f
  for f in "$chroot/usr/lib/systemd/system/auditd.service" "$chroot/lib/systemd/system/auditd.service"; do
    if [ -f "$f" ]; then unit=$f; break; fi
  done
  [ -n "$unit" ] || fail "auditd.service is missing"
  # Debian 12's unit loads the rules with augenrules already ("ExecStartPost=-/sbin/
  # augenrules --load"); a unit that loads /etc/audit/audit.rules with auditctl instead
  # gets a drop-in that uses augenrules.
  if grep -Eq '^ExecStartPost=-?[^ ]*augenrules[[:space:]]+--load' "$unit"; then
    rm -f "$dropin"
    rmdir --ignore-fail-on-non-empty "$(dirname "$dropin")" 2>/dev/null || true
  else
    install_if_changed 0644 "$dropin" <<'EOF'
# stemforge (bosh_audit): load the rules compiled from /etc/audit/rules.d
[Service]
ExecStartPost=
ExecStartPost=-/sbin/augenrules --load
EOF
  fi
  # The SysV script (used without systemd) reads USE_AUGENRULES.
  if [ -f "$chroot/etc/default/auditd" ]; then
    set_active_key "$chroot/etc/default/auditd" USE_AUGENRULES '"yes"' '='
  fi
  systemd_unit disable auditd.service
  # audit 4 (newer than our three releases) loads the rules at boot in a unit of its own;
  # without auditd they would only flood the kernel log, so that unit stays off as well.
  if [ -f "$chroot/usr/lib/systemd/system/audit-rules.service" ] || [ -f "$chroot/lib/systemd/system/audit-rules.service" ]; then
    systemd_unit disable audit-rules.service
  fi
  if [ -d "$chroot/var/log/audit" ]; then
    chown root:root "$chroot/var/log/audit"
    chmod 0750 "$chroot/var/log/audit"
  fi
}

# audit_tune_auditd_conf: the reference's auditd.conf values: problems go to syslog instead
# of halting or suspending, 5 logs of 6 MB rotated, logs readable by root only.
audit_tune_auditd_conf() {
  local conf="$chroot/etc/audit/auditd.conf" kv plugin
  [ -f "$conf" ] || fail "$conf is missing"
  for kv in \
    disk_error_action=SYSLOG disk_full_action=SYSLOG \
    admin_space_left_action=SYSLOG space_left_action=SYSLOG \
    num_logs=5 max_log_file=6 max_log_file_action=ROTATE \
    log_group=root space_left=75 admin_space_left=50; do
    set_active_key "$conf" "${kv%%=*}" "${kv#*=}" ' = '
  done
  # audit events also go to syslog (and from there wherever the deployment forwards it)
  # (auditd ships the plugin on Debian 12; where a release keeps it in audispd-plugins,
  # that package is installed for it.)
  plugin="$chroot/etc/audit/plugins.d/syslog.conf"
  if [ ! -f "$plugin" ]; then
    log "auditd has no syslog plugin here; installing audispd-plugins for it"
    # (only reached while the plugin is missing, so a re-run installs nothing)
    pkg_install audispd-plugins
    drop_apt_lists
    assert_no_chroot_processes
  fi
  [ -f "$plugin" ] || fail "${plugin#"$chroot"} is missing: the audit syslog plugin is needed to send audit events to syslog"
  set_active_key "$plugin" active yes ' = '
}

# audit_uid_min: the first uid of a login account (login.defs UID_MIN, 1000 by default).
audit_uid_min() {
  local v
  v=$(awk '$1 == "UID_MIN" { print $2; exit }' "$chroot/etc/login.defs" 2>/dev/null)
  [[ $v =~ ^[0-9]+$ ]] || v=1000
  printf '%s\n' "$v"
}

# canonical PATH: PATH inside the chroot with its symlinks resolved (nothing if absent).
audit_canonical() {
  chroot "$chroot" readlink -e -- "$1" 2>/dev/null || true
}

# audit_watch PATH PERMS KEY: a watch rule on PATH, skipped with a log line when PATH's
# directory is not in the image (the kernel would refuse the whole rule file). The kernel
# watches a name in a directory: the directory is given with its symlinks resolved
# (/var/run is /run), the name as it is, so a watch on /etc/localtime sees the link being
# replaced. An exec watch (-p x) resolves the name too: exec follows the link, and a
# watch on the link itself would never fire.
audit_watch() {
  local path=$1 perms=$2 key=$3 real parent
  parent=$(audit_canonical "$(dirname "$path")")
  if [ -z "$parent" ]; then
    log "audit: no watch on $path: $(dirname "$path") is not in the image" >&2
    return 0
  fi
  real="${parent%/}/$(basename "$path")"
  if [ "$perms" = x ]; then
    real=$(audit_canonical "$path")
    [ -n "$real" ] || { log "audit: no exec watch on $path: not in the image" >&2; return 0; }
  fi
  printf -- '-w %s -p %s -k %s\n' "$real" "$perms" "$key"
}

# audit_static_rules_text: what the reference records, as rules for this image.
audit_static_rules_text() {
  local uid_min user p seen=' '
  uid_min=$(audit_uid_min)
  # events caused by people (login uid of a real account, not "unset")
  user="-F auid>=$uid_min -F auid!=4294967295"
  cat <<EOF
## stemforge (bosh_audit): what BOSH stemcells record. Generated; do not edit.
## Rules for login users use auid>=$uid_min (login.defs UID_MIN).

## Kernel modules: the module tools (insmod, rmmod and modprobe are links to kmod; a
## watch needs the real file) and the module system calls
EOF
  for p in /sbin/insmod /sbin/rmmod /sbin/modprobe /bin/kmod; do
    p=$(audit_canonical "$p")
    if [ -n "$p" ] && [[ $seen != *" $p "* ]]; then
      seen+="$p "
      audit_watch "$p" x modules
    fi
  done
  cat <<EOF
-a always,exit -F arch=b64 -S init_module -S finit_module -S delete_module -k modules
-a always,exit -F arch=b32 -S init_module -S finit_module -S delete_module -k modules

## Changes of the system time
-a always,exit -F arch=b64 -S adjtimex -S settimeofday -S clock_settime -k time-change
-a always,exit -F arch=b32 -S adjtimex -S settimeofday -S stime -S clock_settime -k time-change
$(audit_watch /etc/localtime wa time-change)

## Deletions and renames by users
-a always,exit -F arch=b64 -S unlink -S unlinkat -S rmdir -S rename -S renameat -S renameat2 $user -k delete
-a always,exit -F arch=b32 -S unlink -S unlinkat -S rmdir -S rename -S renameat -S renameat2 $user -k delete

## Changes of the sudo policy
$(audit_watch /etc/sudoers wa scope)
$(audit_watch /etc/sudoers.d wa scope)

## Logins and logouts
$(audit_watch /var/log/faillog wa logins)
$(audit_watch /var/log/lastlog wa logins)
$(audit_watch /run/faillock wa logins)
$(audit_watch /var/log/tallylog wa logins)

## Sessions
$(audit_watch /run/utmp wa session)
$(audit_watch /var/log/wtmp wa session)
$(audit_watch /var/log/btmp wa session)

## Users, groups and their passwords
$(audit_watch /etc/group wa identity)
$(audit_watch /etc/passwd wa identity)
$(audit_watch /etc/gshadow wa identity)
$(audit_watch /etc/shadow wa identity)
$(audit_watch /etc/security/opasswd wa identity)

## Host name and network environment
-a always,exit -F arch=b64 -S sethostname -S setdomainname -k system-locale
-a always,exit -F arch=b32 -S sethostname -S setdomainname -k system-locale
$(audit_watch /etc/issue wa system-locale)
$(audit_watch /etc/issue.net wa system-locale)
$(audit_watch /etc/hosts wa system-locale)
$(audit_watch /etc/network wa system-locale)
$(audit_watch /etc/networks wa system-locale)

## Mandatory access control (AppArmor) policy
$(audit_watch /etc/apparmor wa MAC-policy)
$(audit_watch /etc/apparmor.d wa MAC-policy)

## Administrator actions: sudo's log, and every program users run as root (CIS 8.1.16)
$(audit_watch /var/log/sudo.log wa actions)
-a always,exit -F arch=b64 -S execve -F euid=0 $user -k sudo_log
-a always,exit -F arch=b32 -S execve -F euid=0 $user -k sudo_log

## Programs run with privileges other than the caller's (setuid/setgid; STIG V-75689)
-a always,exit -F arch=b64 -S execve -C uid!=euid -k execpriv
-a always,exit -F arch=b64 -S execve -C gid!=egid -k execpriv
-a always,exit -F arch=b32 -S execve -C uid!=euid -k execpriv
-a always,exit -F arch=b32 -S execve -C gid!=egid -k execpriv

## Mounts by users
-a always,exit -F arch=b64 -S mount $user -k mounts
-a always,exit -F arch=b32 -S mount $user -k mounts

## Permission, owner and extended attribute changes by users
-a always,exit -F arch=b64 -S chmod -S fchmod -S fchmodat $user -k perm_mod
-a always,exit -F arch=b32 -S chmod -S fchmod -S fchmodat $user -k perm_mod
-a always,exit -F arch=b64 -S chown -S fchown -S fchownat -S lchown $user -k perm_mod
-a always,exit -F arch=b32 -S chown -S fchown -S fchownat -S lchown $user -k perm_mod
-a always,exit -F arch=b64 -S setxattr -S lsetxattr -S fsetxattr -S removexattr -S lremovexattr -S fremovexattr $user -k perm_mod
-a always,exit -F arch=b32 -S setxattr -S lsetxattr -S fsetxattr -S removexattr -S lremovexattr -S fremovexattr $user -k perm_mod

## File access refused to users
-a always,exit -F arch=b64 -S creat -S open -S openat -S open_by_handle_at -S truncate -S ftruncate -F exit=-EACCES $user -k access
-a always,exit -F arch=b32 -S creat -S open -S openat -S open_by_handle_at -S truncate -S ftruncate -F exit=-EACCES $user -k access
-a always,exit -F arch=b64 -S creat -S open -S openat -S open_by_handle_at -S truncate -S ftruncate -F exit=-EPERM $user -k access
-a always,exit -F arch=b32 -S creat -S open -S openat -S open_by_handle_at -S truncate -S ftruncate -F exit=-EPERM $user -k access
EOF
}

# Tools whose exec the reference records under a key of their own (STIG V-75707, V-75765,
# V-75779, V-75785, V-80969); every other privileged command gets "privileged".
audit_named_tools=(
  /usr/lib/openssh/ssh-keysign=privileged-ssh
  /sbin/apparmor_parser=perm_chng
  /usr/bin/chcon=perm_chng
  /usr/sbin/usermod=privileged-usermod
  /sbin/unix_update=privileged-unix-update
)

# audit_privileged_rules_text: an exec rule for every setuid/setgid file in the image, for
# the reference's list of other privileged tools and for the named tools above, those the
# image has, by real path (the kernel records the file executed, not a link's name): one
# rule per file, keyed by its name in the table or "privileged".
audit_privileged_rules_text() {
  local uid_min p real key entry list=()
  declare -A keys=()
  uid_min=$(audit_uid_min)
  while IFS= read -r p; do list+=("$p"); done < <(
    chroot "$chroot" find / -xdev -type f \( -perm -4000 -o -perm -2000 \) 2>/dev/null | sort
  )
  for p in /sbin/unix_chkpwd /sbin/mount.nfs /usr/sbin/pam_timestamp_check /usr/bin/write \
    /bin/mount /bin/umount /usr/bin/newgrp /usr/bin/wall /usr/bin/passwd /usr/bin/crontab \
    /usr/bin/chfn /usr/bin/chsh /usr/bin/chage /usr/bin/gpasswd /usr/bin/ssh-agent /usr/bin/su \
    /usr/bin/sudo /usr/bin/sudoedit /usr/sbin/service /usr/sbin/netreport /usr/sbin/postdrop \
    /usr/sbin/postqueue /usr/sbin/usernetctl /usr/sbin/mount.nfs; do
    list+=("$p")
  done
  for entry in "${audit_named_tools[@]}"; do
    real=$(audit_canonical "${entry%%=*}")
    [ -n "$real" ] || continue
    keys[$real]=${entry#*=}
    list+=("$real")
  done
  printf '## stemforge (bosh_audit): exec of privileged commands by users. Generated; do not edit.\n'
  for p in "${list[@]}"; do
    real=$(audit_canonical "$p")
    [ -n "$real" ] || continue
    printf '%s\n' "$real"
  done | awk '!seen[$0]++' | while IFS= read -r real; do
    key=${keys[$real]:-privileged}
    printf -- '-a always,exit -F path=%s -F perm=x -F auid>=%s -F auid!=4294967295 -k %s\n' "$real" "$uid_min" "$key"
  done
}

# audit_lint FILE: check the syntax of a compiled rule file without a kernel (auditctl
# would load it into the build machine's kernel, so it must not run here): known options,
# absolute paths, permission letters, keys, and every system call known to the image's
# own ausyscall for the rule's architecture.
audit_lint() {
  local file=$1 problems
  problems=$(
    awk '
      { s = $0; sub(/^[ \t]+/, "", s) }
      s == "" || s ~ /^#/ { next }
      {
        arch = ""; kind = ""; key = 0
        for (i = 1; i <= NF; i++) {
          o = $i
          if (o == "-D" || o == "-i" || o == "-c" || o == "--loginuid-immutable") continue
          if (o == "-b" || o == "-r" || o == "--backlog_wait_time") { if ($(i + 1) !~ /^[0-9]+$/) bad("number expected after " o); i++; continue }
          if (o == "-f" || o == "-e") { if ($(i + 1) !~ /^[0-2]$/) bad("0, 1 or 2 expected after " o); i++; continue }
          if (o == "-w") { kind = "w"; if ($(i + 1) !~ /^\//) bad("watch path not absolute"); i++; continue }
          if (o == "-p") { if ($(i + 1) !~ /^[rwxa]+$/) bad("bad permissions " $(i + 1)); i++; continue }
          if (o == "-k") { if ($(i + 1) !~ /^[A-Za-z0-9_.-]+$/) bad("bad key"); key = 1; i++; continue }
          if (o == "-a" || o == "-A") {
            kind = "a"
            if ($(i + 1) !~ /^(always,exit|exit,always|never,exit|exit,never|always,exclude|exclude,always|always,user|user,always|always,task|task,always|always,filesystem|filesystem,always)$/) bad("bad list,action " $(i + 1))
            i++; continue
          }
          if (o == "-F") {
            f = $(i + 1); i++
            if (f !~ /^[a-z_0-9]+(=|!=|>=|<=|>|<|&=|&)[^ ]+$/) { bad("bad field " f); continue }
            name = f; sub(/[=!<>&].*$/, "", name)
            if (name !~ /^(arch|auid|uid|euid|suid|fsuid|gid|egid|sgid|fsgid|pid|ppid|path|dir|perm|exit|success|filetype|key|msgtype|subj_type|obj_type|exe|inode|devmajor|devminor|sessionid|loginuid_set|a0|a1|a2|a3)$/) bad("unknown field " name)
            if (name == "arch") { arch = f; sub(/^arch=/, "", arch) }
            if (name == "path" || name == "dir" || name == "exe") { v = f; sub(/^[a-z]+[=!<>&]+/, "", v); if (v !~ /^\//) bad(name " not absolute") }
            if (name == "perm") { v = f; sub(/^perm=/, "", v); if (v !~ /^[rwxa]+$/) bad("bad perm " v) }
            continue
          }
          if (o == "-C") { if ($(i + 1) !~ /^(uid|gid|auid|euid|egid|suid|sgid|fsuid|fsgid)(=|!=)(uid|gid|auid|euid|egid|suid|sgid|fsuid|fsgid)$/) bad("bad comparison " $(i + 1)); i++; continue }
          if (o == "-S") { sc[++nsc] = NR " " (arch == "" ? "none" : arch) " " $(i + 1); i++; continue }
          bad("unknown option " o)
        }
        if (kind == "w" && !key) bad("watch without key")
      }
      function bad(m) { print "line " NR ": " m ": " $0 }
      END { for (j = 1; j <= nsc; j++) print "SYSCALL " sc[j] }
    ' "$file" | {
      while read -r first a b c; do
        if [ "$first" != SYSCALL ]; then printf '%s %s %s %s\n' "$first" "$a" "$b" "$c"; continue; fi
        case "$b" in
          b64) machine=x86_64 ;;
          b32) machine=i386 ;;
          *) echo "line $a: system call $c without -F arch= before it"; continue ;;
        esac
        chroot "$chroot" ausyscall "$machine" "$c" --exact >/dev/null 2>&1 || echo "line $a: $c is not a $machine system call"
      done
    }
  )
  [ -z "$problems" ] || fail "audit rules in ${file#"$chroot"}: $(tr '\n' ';' <<< "$problems")"
}

# audit_write_rules: the rule files in rules.d, compiled with the image's own augenrules
# into /etc/audit/audit.rules (the file auditd's augenrules --load rebuilds and loads).
# No "-e 2": the reference leaves the rules mutable, so jobs can add rules at run time.
audit_write_rules() {
  local dir="$chroot$audit_rules_dir_rel" compiled="$chroot/etc/audit/audit.rules" n
  mkdir -p "$dir"
  audit_static_rules_text > "$dir/$audit_static_rules.new"
  audit_privileged_rules_text > "$dir/$audit_privileged_rules.new"
  for n in "$audit_static_rules" "$audit_privileged_rules"; do
    chmod 0640 "$dir/$n.new"
    if [ -f "$dir/$n" ]; then replace_if_changed "$dir/$n.new" "$dir/$n"; else mv "$dir/$n.new" "$dir/$n"; fi
    audit_lint "$dir/$n"
  done
  grep -q -- '-k privileged$' "$dir/$audit_privileged_rules" || fail "no privileged command found in the image"
  # augenrules (no --load) only compiles; it never talks to the kernel.
  run_in_chroot 'augenrules' >/dev/null || fail "augenrules could not compile /etc/audit/rules.d"
  [ -s "$compiled" ] || fail "augenrules left /etc/audit/audit.rules empty"
  audit_lint "$compiled"
  for n in "$audit_static_rules" "$audit_privileged_rules"; do
    grep -v -e '^#' -e '^$' "$dir/$n" | while IFS= read -r rule; do
      grep -qxF -- "$rule" "$compiled" || fail "rule missing from the compiled audit.rules: $rule"
    done
  done
  chmod 0640 "$compiled"
  log "audit rules: $(grep -c -- '^-[aw] ' "$compiled") rules compiled into /etc/audit/audit.rules ($(grep -c -- '-k privileged$' "$compiled") privileged commands)"
}

# bosh_audit_apply: everything bosh_audit_<distro> does.
bosh_audit_apply() {
  audit_install
  audit_configure_service
  audit_tune_auditd_conf
  audit_write_rules
  [ ! -e "$chroot/etc/systemd/system/multi-user.target.wants/auditd.service" ] || fail "auditd is still enabled at boot"
}
