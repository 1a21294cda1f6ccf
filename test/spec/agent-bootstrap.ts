// What the BOSH agent (v2.777.0, `-P ubuntu`) runs on a stemcell, read from its source
// (platform/, servicemanager/, jobsupervisor/, agent/action/), as data for two checks: a
// unit test that each command's package is in every OS line's package set (or the base
// system debootstrap installs, or a stage of the line writes it), and a stemcell spec check
// that each one resolves inside the built image with the agent's PATH.

export type AgentService = 'systemd' | 'runit';

export interface AgentCommand {
  /** the name the agent executes (resolved through its PATH) or an absolute path */
  command: string;
  /** what it is for and where in the agent's source */
  why: string;
  /** when the agent runs it */
  when: 'bootstrap' | 'bootstrap (disks)' | 'action' | 'optional';
  /** only on lines with this service manager (the agent's ServiceManager setting) */
  only?: AgentService;
  /**
   * where the image gets it: `base` = the system debootstrap installs on every line;
   * `package` = the named package of the line's package set (base_*_packages);
   * `stage` = a file the named stemforge stage writes.
   */
  from: { base: string } | { package: string } | { stage: string };
}

const agentPath = '/var/vcap/bosh/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The PATH our agent service runs with (bosh-agent.service, /etc/sv/agent/run). */
export const agentServicePath = agentPath;

export const agentCommands: readonly AgentCommand[] = [
  {
    command: 'bosh-agent-rc',
    why: 'first bootstrap step, a failure aborts it (platform/linux_platform.go)',
    when: 'bootstrap',
    from: { stage: 'bosh_go_agent' },
  },
  {
    command: '/var/vcap/bosh/bin/restart_networking',
    why: 'after writing systemd-networkd files (platform/net/ubuntu_net_manager.go)',
    when: 'bootstrap',
    from: { stage: 'bosh_go_agent' },
  },
  {
    command: '/var/vcap/bosh/bin/bosh-start-logging-and-auditing',
    why: 'SetupLoggingAndAuditing, a failure aborts bootstrap',
    when: 'bootstrap',
    from: { stage: 'bosh_log_audit_start' },
  },
  { command: 'sync-time', why: 'with NTP servers in the settings (failure ignored)', when: 'optional', from: { stage: 'bosh_ntp' } },
  { command: 'monit', why: '`monit stop -g vcap` of the stop action (jobsupervisor/monit_job_supervisor.go)', when: 'action', from: { stage: 'bosh_monit' } },
  { command: 'sh', why: 'fs.HomeDir / Chown (`sh -c "echo ~user"`, `id -g`, `chown`)', when: 'bootstrap', from: { base: 'dash' } },
  { command: 'id', why: 'Chown through sh', when: 'bootstrap', from: { base: 'coreutils' } },
  { command: 'chown', why: 'SetupSSH, SetupLogDir, data dirs', when: 'bootstrap', from: { base: 'coreutils' } },
  { command: 'mount', why: 'config drive, bind mounts of /var/log /tmp /home…, tmpfs for sys/run', when: 'bootstrap', from: { base: 'mount' } },
  { command: 'umount', why: 'config drive, CD-ROM', when: 'bootstrap', from: { base: 'mount' } },
  { command: 'usermod', why: "root/vcap password from env.bosh.password; ssh users' groups", when: 'bootstrap', from: { base: 'passwd' } },
  { command: 'useradd', why: "the ssh action's user (agent/action/ssh.go)", when: 'action', from: { base: 'passwd' } },
  { command: 'userdel', why: 'ssh cleanup', when: 'action', from: { base: 'passwd' } },
  { command: 'hostname', why: 'SetupHostname on first boot', when: 'bootstrap', from: { base: 'hostname' } },
  { command: 'pkill', why: 'stops dhclient when the network changes (failure ignored)', when: 'bootstrap', from: { package: 'procps' } },
  {
    command: 'resolvconf',
    why: '`resolvconf -u` on runit lines (fatal), `-d IFACE.dhclient` on all (ignored)',
    when: 'bootstrap',
    from: { package: 'resolvconf' },
    only: 'runit',
  },
  {
    command: 'systemctl',
    why: '`systemctl restart systemd-resolved` with DNS servers; `systemctl start|kill monit`',
    when: 'bootstrap',
    only: 'systemd',
    from: { base: 'systemd' },
  },
  { command: 'sv', why: '`sv start|kill monit` (servicemanager/sv_service_manager.go)', when: 'bootstrap', only: 'runit', from: { package: 'runit' } },
  { command: 'arping', why: 'gratuitous ARP for each address after network setup (failure ignored)', when: 'bootstrap', from: { package: 'iputils-arping' } },
  { command: 'ip', why: '`ip r` for dynamic networks; `ip neigh flush`', when: 'bootstrap', from: { package: 'iproute2' } },
  { command: 'sysctl', why: 'IPv6 when enabled in the settings', when: 'optional', from: { package: 'procps' } },
  {
    command: 'udevadm',
    why: '`udevadm trigger|settle` of the virtio device path resolver and the partitioner',
    when: 'bootstrap (disks)',
    from: { base: 'udev' },
  },
  { command: 'parted', why: 'ephemeral disk or root disk partitions (PartitionerType parted)', when: 'bootstrap (disks)', from: { package: 'parted' } },
  { command: 'partprobe', why: 'after each new partition', when: 'bootstrap (disks)', from: { package: 'parted' } },
  { command: 'lsblk', why: "the ephemeral disk's size", when: 'bootstrap (disks)', from: { base: 'util-linux' } },
  { command: 'wipefs', why: 'an ephemeral disk partitioned by someone else', when: 'bootstrap (disks)', from: { base: 'util-linux' } },
  { command: 'readlink', why: 'root and data partitions', when: 'bootstrap (disks)', from: { base: 'coreutils' } },
  { command: 'blkid', why: 'is there a filesystem on the partition', when: 'bootstrap (disks)', from: { base: 'util-linux' } },
  { command: 'mkswap', why: 'the swap partition', when: 'bootstrap (disks)', from: { base: 'util-linux' } },
  { command: 'swapon', why: 'the swap partition', when: 'bootstrap (disks)', from: { base: 'mount' } },
  { command: 'mke2fs', why: 'the data partition (ext4)', when: 'bootstrap (disks)', from: { base: 'e2fsprogs' } },
  { command: 'resize2fs', why: 'growing the root or a persistent disk', when: 'bootstrap (disks)', from: { base: 'e2fsprogs' } },
  { command: 'growpart', why: 'growing the root disk (skipped when absent)', when: 'bootstrap (disks)', from: { package: 'cloud-guest-utils' } },
  { command: 'sfdisk', why: 'remounting a persistent disk after a reboot (`sfdisk -d`)', when: 'bootstrap (disks)', from: { package: 'fdisk' } },
  { command: 'update-ca-certificates', why: 'update_settings with trusted certificates', when: 'action', from: { package: 'ca-certificates' } },
  { command: 'tar', why: 'jobs, packages, fetch_logs', when: 'action', from: { base: 'tar' } },
  { command: 'bash', why: "compile_package runs `bash -x packaging`; the ssh users' shell", when: 'action', from: { base: 'bash' } },
  { command: 'shutdown', why: 'the shutdown action; reboot to enable IPv6', when: 'action', from: { base: 'systemd-sysv' } },
];

/** Files and groups the agent needs at bootstrap besides commands (a missing one aborts it). */
export const agentImageNeeds = {
  groups: ['vcap', 'syslog', 'utmp', 'admin', 'bosh_sudoers', 'bosh_sshers'],
  /** the ssh action reads the RSA host key; firstboot makes it (ssh-keygen -A) */
  dirs: ['etc/systemd/network'],
} as const;

/** The agent's commands that apply to a line with this service manager. */
export function agentCommandsFor(service: AgentService): AgentCommand[] {
  return agentCommands.filter((c) => !c.only || c.only === service);
}
