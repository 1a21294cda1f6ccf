// Operating-system lines stemforge can build, as data. The planner and the settings file
// read these; nothing else should branch on an OS name.
import type { Architecture } from './architectures.js';

export type Distro = 'ubuntu' | 'debian';

export interface OperatingSystem {
  name: string;
  /** one plain line: which release this is and what building it needs */
  summary: string;
  distro: Distro;
  suite: string;
  /** e.g. 22.04; used in manifests and names later */
  version: string;
  /** the image's architecture: amd64 for every stemcell; another one through osForArchitecture */
  arch: Architecture;
  /**
   * the architectures an OS image of the line can be built for, with what differs from the
   * amd64 entry. Only lines tested on an architecture list it: arm64 is built here, on an amd64
   * machine, through qemu-user (the mirror of an amd64 build on an Apple Silicon VM).
   */
  architectures: Partial<Record<Architecture, Partial<Pick<OperatingSystem, 'kernelPackages'>>>>;
  /**
   * the debootstrap script that builds the line, passed by name on debootstrap's command line:
   * an older debootstrap may lack the suite's own link to it (Debian 12's has none for noble).
   * With no --mirror, its default archive (or debootstrap's own) is the one the build uses.
   */
  debootstrapScript: 'gutsy' | 'sid';
  /** archive keyring on the build machine, used by debootstrap */
  keyring: string;
  components: string[];
  /** empty string = debootstrap's default variant */
  debootstrapVariant: string;
  debootstrapInclude: string[];
  kernelPackages: string[];
  /** the package set installed by base_<distro>_packages */
  packages: string[];
  /** packages base_<distro>_packages removes again when present */
  purgePackages: string[];
  /** what supervises monit (and later the agent): runit on Jammy as in the reference, systemd units elsewhere */
  serviceManager: 'runit' | 'systemd';
  /**
   * what keeps /etc/resolv.conf, as the agent expects for the line's service manager: with
   * ServiceManager systemd it writes /etc/systemd/resolved.conf.d/10-bosh.conf and restarts
   * systemd-resolved; with runit it writes resolvconf's base file and runs `resolvconf -u`.
   */
  dnsResolver: 'systemd-resolved' | 'resolvconf';
  /**
   * kernel arguments of the reference's command line this line leaves out: Debian 12's
   * initramfs sleeps the whole rootdelay instead of waiting up to it (measured: root
   * mounted at 315 s under QEMU), so rootdelay=300 would add five minutes to every boot.
   */
  kernelArgsOmitted: string[];
  /**
   * kernel arguments this line adds to the reference's command line: Jammy boots on cgroup v1
   * (systemd.unified_cgroup_hierarchy=false), where the net_cls controller the monit API
   * filter (iptables) matches on exists; on cgroup v2 there is none and the agent is shut out.
   */
  kernelArgsAdded: string[];
  /** stemcell names end in -go_agent (Jammy, as the reference); newer lines drop it (Noble) */
  goAgentSuffix: boolean;
  /** how the monit HTTP API is closed to everything but the agent: iptables+net_cls (cgroup v1) or nftables (cgroup v2) */
  monitApiFilter: 'iptables' | 'nftables';
  osImageStages: string[];
}

/** Stages shared by every line, in reference order, around the per-OS names. */
function osImageStages(distro: Distro, opts: { delayMonitStart: boolean }): string[] {
  return [
    'base_debootstrap',
    `base_${distro}_firstboot`,
    'base_apt',
    `base_${distro}_build_essential`,
    `base_${distro}_packages`,
    'base_file_permission',
    'base_ssh',
    'bosh_sysstat',
    'bosh_environment',
    'bosh_sysctl',
    'bosh_limits',
    'bosh_users',
    'bosh_monit',
    'bosh_ntp',
    'bosh_sudoers',
    'bosh_systemd',
    'password_policies',
    'restrict_su_command',
    'tty_config',
    'rsyslog_config',
    ...(opts.delayMonitStart ? ['delay_monit_start'] : []),
    'system_grub',
    'vim_tiny',
    'cron_config',
    'escape_ctrl_alt_del',
    `bosh_audit_${distro}`,
    'bosh_log_audit_start',
    'clean_machine_id',
  ];
}

// The package set of the reference's base_ubuntu_packages (Jammy names). Each line takes it
// through renames() below, so a per-release difference is one entry in one table.
const referencePackages = [
  'libssl-dev',
  'lsof',
  'strace',
  'bind9-host',
  'dnsutils',
  'tcpdump',
  'iputils-arping',
  'curl',
  'wget',
  'bison',
  'libreadline6-dev',
  'rng-tools',
  'libxml2',
  'libxml2-dev',
  'libxslt1.1',
  'libxslt1-dev',
  'zip',
  'unzip',
  'flex',
  'psmisc',
  'apparmor-utils',
  'iptables',
  'sysstat',
  'rsync',
  'openssh-server',
  'traceroute',
  'libncurses5-dev',
  'quota',
  'libaio1',
  'gdb',
  'libcap2-bin',
  'libcap2-dev',
  'libbz2-dev',
  'cmake',
  'uuid-dev',
  'libgcrypt-dev',
  'ca-certificates',
  'scsitools',
  'htop',
  'module-assistant',
  'debhelper',
  'runit',
  'parted',
  'cloud-guest-utils',
  'anacron',
  'software-properties-common',
  'xfsprogs',
  'gdisk',
  'libpam-cracklib',
  'chrony',
  'dbus',
  'nvme-cli',
  'fdisk',
  'ethtool',
  'gpg-agent',
  'libcurl4',
  'libcurl4-openssl-dev',
  'resolvconf',
  'net-tools',
  'ifupdown',
  // not in the reference list but used by our own stages (sudoers, monit wrapper, iproute)
  'sudo',
  'iproute2',
  'less',
  'procps',
];

/**
 * rsyslog and the modules the stemcell's syslog forwarding uses, from the release's own
 * archive. The reference takes Jammy's from a Launchpad PPA (adding mmjsonparse and
 * mmnormalize); a PPA is one more registry the builder would have to reach, so we do not.
 */
const rsyslogPackages = ['rsyslog', 'rsyslog-gnutls', 'rsyslog-openssl', 'rsyslog-relp'];

/** Packages the reference removes after the install (absent ones are skipped). */
const referencePurge = ['netplan.io', 'iw', 'mg', 'wireless-regdb', 'postfix', 'whoopsie', 'apport'];

/**
 * The reference list with per-release names: `from: to` renames, `from: null` drops a
 * package the release does not have (its replacement, if any, goes in `add`).
 */
function renames(list: readonly string[], changes: Readonly<Record<string, string | null>>, add: readonly string[] = []): string[] {
  for (const from of Object.keys(changes)) {
    if (!list.includes(from)) throw new Error(`package rename of '${from}', which is not in the list`);
  }
  const out = list.flatMap((p) => (p in changes ? (changes[p] === null ? [] : [changes[p]!]) : [p]));
  return [...out, ...add];
}

/** What the Ubuntu lines share. */
const ubuntu = {
  distro: 'ubuntu',
  arch: 'amd64',
  architectures: { amd64: {} },
  debootstrapScript: 'gutsy',
  keyring: '/usr/share/keyrings/ubuntu-archive-keyring.gpg',
  components: ['main', 'universe', 'multiverse'],
  debootstrapVariant: '',
  debootstrapInclude: ['locales'],
  kernelPackages: ['linux-generic'],
} as const satisfies Partial<OperatingSystem>;

export const operatingSystems: readonly OperatingSystem[] = [
  {
    ...ubuntu,
    name: 'ubuntu-jammy',
    summary: 'Ubuntu 22.04 LTS (Jammy), the release most BOSH deployments run today',
    suite: 'jammy',
    version: '22.04',
    // libreadline6-dev and libcap2-dev are old names the archive resolves; use the real ones.
    packages: renames(referencePackages, { 'libreadline6-dev': 'libreadline-dev', 'libcap2-dev': 'libcap-dev' }, rsyslogPackages),
    purgePackages: referencePurge,
    serviceManager: 'runit',
    dnsResolver: 'resolvconf',
    kernelArgsOmitted: [],
    kernelArgsAdded: ['systemd.unified_cgroup_hierarchy=false'],
    goAgentSuffix: true,
    monitApiFilter: 'iptables',
    osImageStages: osImageStages('ubuntu', { delayMonitStart: true }),
  },
  {
    ...ubuntu,
    name: 'ubuntu-noble',
    summary: 'Ubuntu 24.04 LTS (Noble), the newer Ubuntu release',
    suite: 'noble',
    version: '24.04',
    // Noble: the t64 library transition, cracklib gone for pwquality, systemd-resolved for
    // resolvconf (the agent drives it on systemd lines), nftables for the monit API filter.
    packages: renames(
      referencePackages,
      {
        'libreadline6-dev': 'libreadline-dev',
        'libcap2-dev': 'libcap-dev',
        'libncurses5-dev': 'libncurses-dev',
        libaio1: 'libaio1t64',
        'libpam-cracklib': 'libpam-pwquality',
        resolvconf: 'systemd-resolved',
      },
      [...rsyslogPackages, 'nftables'],
    ),
    purgePackages: referencePurge,
    serviceManager: 'systemd',
    dnsResolver: 'systemd-resolved',
    kernelArgsOmitted: [],
    kernelArgsAdded: [],
    goAgentSuffix: false,
    monitApiFilter: 'nftables',
    osImageStages: osImageStages('ubuntu', { delayMonitStart: false }),
  },
  {
    name: 'debian-bookworm',
    summary: "Debian 12 (Bookworm), the line stemforge's own tests build and boot",
    distro: 'debian',
    suite: 'bookworm',
    version: '12',
    arch: 'amd64',
    architectures: { amd64: {}, arm64: { kernelPackages: ['linux-image-arm64'] } },
    debootstrapScript: 'sid',
    keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
    components: ['main'],
    debootstrapVariant: '',
    debootstrapInclude: ['locales'],
    kernelPackages: ['linux-image-amd64'],
    // Debian 12 names (checked against the bookworm archive): rng-tools5 is upstream
    // rng-tools; software-properties-common only served the reference's
    // PPA (add-apt-repository), which a Debian image has no use for; systemd-resolved (which
    // conflicts with resolvconf) because the agent drives it on systemd lines.
    packages: renames(
      referencePackages,
      {
        'libreadline6-dev': 'libreadline-dev',
        'rng-tools': 'rng-tools5',
        'libncurses5-dev': 'libncurses-dev',
        'libcap2-dev': 'libcap-dev',
        'libgcrypt-dev': 'libgcrypt20-dev',
        'libpam-cracklib': 'libpam-pwquality',
        'software-properties-common': null,
        resolvconf: 'systemd-resolved',
      },
      [...rsyslogPackages, 'nftables'],
    ),
    purgePackages: referencePurge,
    serviceManager: 'systemd',
    dnsResolver: 'systemd-resolved',
    kernelArgsOmitted: ['rootdelay=300'],
    kernelArgsAdded: [],
    goAgentSuffix: false,
    monitApiFilter: 'nftables',
    osImageStages: osImageStages('debian', { delayMonitStart: false }),
  },
];
