# shellcheck shell=sh
# Written by stemforge (bosh_monit). Source this file and call permit_monit_access [PID]
# (root only) to let a process (default: the calling shell) and its children reach monit's
# HTTP API at 127.0.0.1:2822, which restrict-monit-api closes to everything else but the
# BOSH agent. It moves the process into the cgroup "monit-api-access":
#   iptables lines (cgroup v1): net_cls cgroup with classid b054:0001, matched by iptables;
#   nftables lines (cgroup v2): /sys/fs/cgroup/monit-api-access, matched by nftables.
monit_api_filter=@MONIT_API_FILTER@
monit_api_cgroup=monit-api-access
# b054:0001 as one number (0xb0540001); the agent uses b054:0002 for its NATS rule.
monit_api_classid=2958295041

# monit_api_cgroup_dir: print the access cgroup's directory, creating it on first use.
monit_api_cgroup_dir() {
  case "$monit_api_filter" in
    iptables)
      net_cls=$(awk '$3 == "cgroup" && ("," $4 ",") ~ /,net_cls,/ { print $2; exit }' /proc/self/mounts)
      if [ -z "$net_cls" ]; then
        echo "monit-access-helper: no net_cls cgroup (v1) is mounted" >&2
        return 1
      fi
      mkdir -p "$net_cls/$monit_api_cgroup" || return 1
      if [ "$(cat "$net_cls/$monit_api_cgroup/net_cls.classid")" != "$monit_api_classid" ]; then
        echo "$monit_api_classid" > "$net_cls/$monit_api_cgroup/net_cls.classid" || return 1
      fi
      echo "$net_cls/$monit_api_cgroup"
      ;;
    nftables)
      if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo "monit-access-helper: /sys/fs/cgroup is not a cgroup v2 hierarchy" >&2
        return 1
      fi
      mkdir -p "/sys/fs/cgroup/$monit_api_cgroup" || return 1
      echo "/sys/fs/cgroup/$monit_api_cgroup"
      ;;
    *)
      echo "monit-access-helper: unknown filter '$monit_api_filter'" >&2
      return 1
      ;;
  esac
}

permit_monit_access() {
  monit_api_dir=$(monit_api_cgroup_dir) || return 1
  echo "${1:-$$}" > "$monit_api_dir/cgroup.procs"
}
