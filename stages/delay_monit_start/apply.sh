#!/usr/bin/env bash
# Makes runsvdir-start remove /etc/service/monit at boot until /var/vcap/data/sys/run is mounted, so only the agent starts monit.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"

[ "${os_service_manager:-}" = runit ] \
  || fail "delay_monit_start is for lines whose monit runs under runit (Jammy); os_service_manager is '${os_service_manager:-}'"
start_script=/usr/sbin/runsvdir-start
start_file=$(target "$start_script")
[ -f "$start_file" ] || fail "$start_script is missing: base_ubuntu_packages writes it"

# runsvdir would start monit from /etc/service/monit (bosh_monit's link, or the one the
# agent made on the previous boot) before the agent has mounted the ephemeral disk and
# written monit's credentials and the jobs' control files. The agent links it again when it
# starts monit. The block goes right before the exec of runsvdir and replaces an earlier one.
replace_marked_block "$start_file" \
  '# >>> stemforge delay_monit_start >>>' \
  '# <<< stemforge delay_monit_start <<<' \
  '^exec .*runsvdir' <<'BLOCK'
# monit starts when the agent asks, not at boot: until the agent has mounted the ephemeral
# disk (/var/vcap/data/sys/run), no link to the monit service.
if ! mountpoint -q /var/vcap/data/sys/run; then
  rm -f /etc/service/monit
fi
BLOCK
check_script "$start_script"
log "$start_script removes /etc/service/monit until /var/vcap/data/sys/run is mounted"
