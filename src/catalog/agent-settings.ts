// What each infrastructure's bosh_<iaas>_agent_settings stage writes to
// /var/vcap/bosh/agent.json, and the kernel command line of its disk image, as data
// (facts §5b: agent settings sources, device path resolution, GRUB_CMDLINE_LINUX).

type Json = string | number | boolean | Json[] | { [key: string]: Json };

const linux = (resolution: 'scsi' | 'virtio' | 'iscsi', extra: Record<string, Json> = {}): Record<string, Json> => ({
  PartitionerType: 'parted',
  DevicePathResolutionType: resolution,
  CreatePartitionIfNoEphemeralDisk: true,
  ...extra,
});

/** The EC2-style metadata service layout that aws, alicloud and openstack answer. */
const ec2Http = (uri: string, extra: Record<string, Json> = {}): Record<string, Json> => ({
  Type: 'HTTP',
  URI: uri,
  UserDataPath: '/latest/user-data',
  InstanceIDPath: '/latest/meta-data/instance-id',
  SSHKeysPath: '/latest/meta-data/public-keys/0/openssh-key',
  ...extra,
});

// Infrastructure.Settings flags exactly as each reference stage writes them (some write none, some only one).
// The agent we pin no longer reads UseRegistry, UseServerName or ScrubEphemeralDisk (bosh-agent dropped the
// registry in 2022, and decodes agent.json leniently); they are kept so the file is the reference's.
const agentJson = (platform: Record<string, Json>, sources: Json[], settings: Record<string, Json> = {}): Record<string, Json> => ({
  Platform: { Linux: platform },
  Infrastructure: { Settings: { Sources: sources, ...settings } },
});

// vSphere's stage sets neither CreatePartitionIfNoEphemeralDisk nor any Settings flag.
const vsphere = agentJson({ PartitionerType: 'parted', DevicePathResolutionType: 'scsi' }, [{ Type: 'CDROM', FileName: 'env' }]);

export const agentSettings: Readonly<Record<string, Record<string, Json>>> = {
  aws: agentJson(linux('virtio'), [ec2Http('http://169.254.169.254', { TokenPath: '/latest/api/token' })], { UseRegistry: true }),
  alicloud: agentJson(linux('virtio'), [ec2Http('http://100.100.100.200')], { UseServerName: false, UseRegistry: true }),
  azure: agentJson(
    linux('scsi'),
    [
      {
        Type: 'File',
        MetaDataPath: '',
        UserDataPath: '/var/lib/cloud/instance/user-data.txt',
        SettingsPath: '/var/lib/cloud/instance/user-data.txt',
      },
    ],
    { UseServerName: true },
  ),
  google: agentJson(
    linux('virtio', { VirtioDevicePrefix: 'google' }),
    [
      {
        Type: 'InstanceMetadata',
        URI: 'http://169.254.169.254',
        SettingsPath: '/computeMetadata/v1/instance/attributes/bosh_settings',
        Headers: { 'Metadata-Flavor': 'Google' },
      },
    ],
    { UseServerName: true, UseRegistry: false },
  ),
  openstack: agentJson(
    linux('virtio'),
    [
      { Type: 'File', SettingsPath: '/var/vcap/bosh/agent-bootstrap-env.json' },
      {
        Type: 'ConfigDrive',
        DiskPaths: ['/dev/disk/by-label/CONFIG-2', '/dev/disk/by-label/config-2'],
        MetaDataPath: 'ec2/latest/meta-data.json',
        UserDataPath: 'ec2/latest/user-data',
      },
      ec2Http('http://169.254.169.254'),
    ],
    { UseServerName: true, UseRegistry: true },
  ),
  vsphere,
  vcloud: vsphere,
  // A container: no partitioner, no device path resolution (the CPI's paths are taken as given), no disk setup.
  warden: agentJson(
    {
      UseDefaultTmpDir: true,
      UsePreformattedPersistentDisk: true,
      BindMountPersistentDisk: true,
      SkipDiskSetup: true,
    },
    [{ Type: 'File', SettingsPath: '/var/vcap/bosh/warden-cpi-agent-env.json' }],
  ),
  // CloudStack's virtual router serves the key at meta-data/public-keys itself, not EC2's public-keys/0/openssh-key.
  cloudstack: agentJson(linux('virtio'), [ec2Http('http://169.254.169.254:39724', { SSHKeysPath: '/latest/meta-data/public-keys' })], {
    UseServerName: true,
    UseRegistry: true,
  }),
  softlayer: agentJson(
    linux('iscsi', { ScrubEphemeralDisk: true }),
    [
      {
        Type: 'HTTP',
        URI: 'https://api.service.softlayer.com',
        UserDataPath: '/rest/v3.1/SoftLayer_Resource_Metadata/getUserMetadata.json',
      },
    ],
    { UseServerName: true, UseRegistry: true },
  ),
};

/**
 * agent.json for an infrastructure on an OS line. On systemd lines the agent must be told
 * (Platform.Linux.ServiceManager), or it drives monit with runit's sv, which is not there.
 */
export function agentJsonFor(iaas: string, serviceManager: 'runit' | 'systemd'): Record<string, Json> {
  const base = agentSettings[iaas];
  if (!base) throw new Error(`no agent settings for infrastructure ${iaas}`);
  const copy = JSON.parse(JSON.stringify(base)) as { Platform: { Linux: Record<string, Json> } } & Record<string, Json>;
  if (serviceManager === 'systemd') copy.Platform.Linux.ServiceManager = 'systemd';
  return copy;
}

/** The kernel command line every stemcell boots with (the reference's GRUB_CMDLINE_LINUX). */
export const kernelCmdline = [
  'vconsole.keymap=us',
  'net.ifnames=0',
  'biosdevname=0',
  'crashkernel=auto',
  'selinux=0',
  'plymouth.enable=0',
  'console=ttyS0,115200n8',
  'earlyprintk=ttyS0',
  'rootdelay=300',
  'ipv6.disable=1',
  'audit=1',
  'cgroup_enable=memory',
  'swapaccount=1',
  'apparmor=1',
  'security=apparmor',
];

/** Per-infrastructure additions to the kernel command line. */
export const kernelCmdlineExtra: Readonly<Record<string, string[]>> = {
  aws: ['nvme_core.io_timeout=4294967295'],
  cloudstack: ['console=hvc0'],
};
