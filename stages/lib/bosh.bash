# shellcheck shell=bash
# Shared by the bosh_* stages (and delay_monit_start). Source it after the prelude:
#   source "$lib_dir/bosh.bash"

# Paths inside the image. The agent, monit and the jobs all rely on them.
bosh_app_dir=/var/vcap
bosh_dir=/var/vcap/bosh
bosh_bin_dir=/var/vcap/bosh/bin
bosh_etc_dir=/var/vcap/bosh/etc

# ensure_bosh_dirs: /var/vcap (0755: jobs running as vcap walk through it), /var/vcap/bosh
# (0700 root: the agent's home, settings and credentials), and its bin/ and etc/.
ensure_bosh_dirs() {
  local app bosh bin etc
  # Each its own assignment: a failing target then stops the stage (set -e).
  app=$(target "$bosh_app_dir")
  bosh=$(target "$bosh_dir")
  bin=$(target "$bosh_bin_dir")
  etc=$(target "$bosh_etc_dir")
  if [ ! -d "$app" ]; then install -d -o root -g root -m 0755 "$app"; fi
  install -d -o root -g root -m 0700 "$bosh"
  install -d -o root -g root -m 0755 "$bin" "$etc"
}

# check_script PATH: syntax-check a shell script of the image (path inside the image) with
# the image's own shell named on its first line, so a broken script fails the build here
# and not on a booted VM.
check_script() {
  local path=$1 shell
  shell=$(chroot "$chroot" head -n 1 "$path") || fail "check_script: cannot read $path in the image"
  case "$shell" in
    '#!/bin/sh' | '#!/bin/sh '*) shell=/bin/sh ;;
    '#!/bin/bash' | '#!/bin/bash '* | '#!/usr/bin/env bash') shell=/bin/bash ;;
    *) fail "check_script: $path does not start with #!/bin/sh or #!/bin/bash" ;;
  esac
  run_in_chroot "$(printf '%q -n %q' "$shell" "$path")" || fail "$path has a syntax error (see above)"
}

# replace_marked_block FILE BEGIN END BEFORE_REGEX < content: put content, framed by the
# BEGIN and END marker lines, into FILE in place of an earlier block with the same markers,
# right before the first line matching BEFORE_REGEX (an awk ERE). Running it again gives
# the same file. Fails if no line matches BEFORE_REGEX.
replace_marked_block() {
  local file=$1 begin=$2 end=$3 before=$4 block tmp
  block=$(cat)
  tmp=$(mktemp "$file.XXXXXX")
  # Through the environment, not -v: awk would expand backslash escapes in -v values.
  if ! B="$begin" E="$end" BEFORE="$before" BLOCK="$block" awk '
      $0 == ENVIRON["B"] { skip = 1; next }
      skip { if ($0 == ENVIRON["E"]) skip = 0; next }
      !done && $0 ~ ENVIRON["BEFORE"] { print ENVIRON["B"]; print ENVIRON["BLOCK"]; print ENVIRON["E"]; done = 1 }
      { print }
      END { exit done ? 0 : 1 }
    ' "$file" > "$tmp"; then
    rm -f "$tmp"
    fail "replace_marked_block: no line of $file matches /$before/"
  fi
  chmod --reference="$file" "$tmp"
  chown --reference="$file" "$tmp"
  mv "$tmp" "$file"
}

# assert_service_manager: os_service_manager must be one this code knows.
assert_service_manager() {
  case "${os_service_manager:-}" in
    runit | systemd) ;;
    *) fail "os_service_manager is '${os_service_manager:-}', expected runit or systemd" ;;
  esac
}

# check_monit_control_file: let the image's monit parse BOSH's control file with everything
# it includes; whatever monit -t adds to /var/vcap/monit (an id file, a log, a placeholder
# credentials file) is removed again.
check_monit_control_file() {
  # shellcheck disable=SC2016 # expanded inside the chroot
  run_in_chroot '
    cd /var/vcap/monit
    before=$(ls -A)
    if [ ! -e monit.user ]; then printf "vcap:placeholder\n" > monit.user; chmod 0600 monit.user; fi
    rc=0
    out=$(/var/vcap/bosh/bin/monit-actual -t -c /var/vcap/bosh/etc/monitrc 2>&1) || rc=$?
    printf "%s\n" "$out" | grep -Ev "Include failed|Monit id|Stored in|Control file syntax OK" >&2 || true
    for f in $(ls -A); do
      case "
$before
" in *"
$f
"*) ;; *) rm -rf "./$f" ;; esac
    done
    exit "$rc"
  '
}
