// Operating-system lines stemforge can build, as data. The planner and the settings file
// read these; nothing else should branch on an OS name.

export type Distro = 'ubuntu' | 'debian';

/** How base_debootstrap/base_apt find their archive when the user gives no --mirror. */
export type MirrorPolicy =
  /** the build machine's own apt configuration (Debian on a Debian build machine) */
  | 'host-apt'
  /** the user must name one (Ubuntu: its archives are not reachable from our machines) */
  | 'user';

export interface OperatingSystem {
  name: string;
  distro: Distro;
  suite: string;
  /** e.g. 22.04; used in manifests and names later */
  version: string;
  arch: 'amd64';
  mirrorPolicy: MirrorPolicy;
  /** archive keyring on the build machine, used by debootstrap */
  keyring: string;
  components: string[];
  /** empty string = debootstrap's default variant */
  debootstrapVariant: string;
  debootstrapInclude: string[];
  kernelPackages: string[];
  /** the package set installed by base_<distro>_packages */
  packages: string[];
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

// A small real set for now; the OS-image issue grows it to the reference's full list.
const commonPackages = [
  'openssh-server',
  'sudo',
  'ca-certificates',
  'curl',
  'rsync',
  'lsof',
  'strace',
  'psmisc',
  'iproute2',
  'libcap2-bin',
  'less',
  'procps',
];

/** What the Ubuntu lines share. */
const ubuntu = {
  distro: 'ubuntu',
  arch: 'amd64',
  mirrorPolicy: 'user',
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
    suite: 'jammy',
    version: '22.04',
    packages: [...commonPackages, 'libpam-cracklib'],
    osImageStages: osImageStages('ubuntu', { delayMonitStart: true }),
  },
  {
    ...ubuntu,
    name: 'ubuntu-noble',
    suite: 'noble',
    version: '24.04',
    packages: [...commonPackages, 'libpam-pwquality'],
    osImageStages: osImageStages('ubuntu', { delayMonitStart: false }),
  },
  {
    name: 'debian-bookworm',
    distro: 'debian',
    suite: 'bookworm',
    version: '12',
    arch: 'amd64',
    mirrorPolicy: 'host-apt',
    keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
    components: ['main'],
    debootstrapVariant: '',
    debootstrapInclude: ['locales'],
    kernelPackages: ['linux-image-amd64'],
    packages: [...commonPackages, 'libpam-pwquality'],
    osImageStages: osImageStages('debian', { delayMonitStart: false }),
  },
];
