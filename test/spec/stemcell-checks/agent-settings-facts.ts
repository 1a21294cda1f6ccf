// The /var/vcap/bosh/agent.json each infrastructure's stemcell must carry, written out by hand
// from the reference builder (cloudfoundry/bosh-linux-stemcell-builder, branch ubuntu-jammy,
// d43233002593, 2024-10-23): the heredoc of stemcell_builder/stages/bosh_<iaas>_agent_settings/apply.sh
// (base_warden/apply.sh for warden), with the "PartitionerType": "parted" line that
// stemcell_builder/lib/prelude_agent.bash (get_partitioner_type_mapping) splices in.
//
// These facts are independent of src/: nothing here is imported from the catalog, so a slip in
// src/catalog/agent-settings.ts (a metadata address, a config-drive label, a flag) shows up as a
// difference instead of being compared with itself.
//
// Flags the agent no longer reads are still pinned, as the reference writes them: bosh-agent v2.832.0
// (our pin) decodes agent.json with plain encoding/json into app.Config, which ignores unknown keys;
// UseRegistry and UseServerName left infrastructure.SettingsOptions in "drop registry references"
// (bosh-agent 5237f132e, 2022), and platform.LinuxOptions has no ScrubEphemeralDisk.
//
// The one thing we add: on a systemd OS line Platform.Linux.ServiceManager is "systemd"
// (see promisedAgentJson). The reference's Jammy line runs runit and writes none.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const agentSettingsFacts: Readonly<Record<string, JsonObject>> = {
  // bosh_aws_agent_settings: EC2 instance metadata with an IMDSv2 token; no UseServerName key at all.
  aws: {
    Platform: {
      Linux: {
        PartitionerType: 'parted',
        DevicePathResolutionType: 'virtio',
        CreatePartitionIfNoEphemeralDisk: true,
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [
          {
            Type: 'HTTP',
            URI: 'http://169.254.169.254',
            UserDataPath: '/latest/user-data',
            InstanceIDPath: '/latest/meta-data/instance-id',
            SSHKeysPath: '/latest/meta-data/public-keys/0/openssh-key',
            TokenPath: '/latest/api/token',
          },
        ],
        UseRegistry: true,
      },
    },
  },

  // bosh_alicloud_agent_settings: Alibaba Cloud's metadata server at 100.100.100.200, EC2 paths, no token.
  alicloud: {
    Platform: {
      Linux: {
        PartitionerType: 'parted',
        CreatePartitionIfNoEphemeralDisk: true,
        DevicePathResolutionType: 'virtio',
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [
          {
            Type: 'HTTP',
            URI: 'http://100.100.100.200',
            UserDataPath: '/latest/user-data',
            InstanceIDPath: '/latest/meta-data/instance-id',
            SSHKeysPath: '/latest/meta-data/public-keys/0/openssh-key',
          },
        ],
        UseServerName: false,
        UseRegistry: true,
      },
    },
  },

  // bosh_azure_agent_settings: the user data cloud-init saved, read as a settings file; no UseRegistry key.
  // (bosh-stemcell/spec/stemcells/azure_spec.rb checks the empty MetaDataPath and both paths too.)
  azure: {
    Platform: {
      Linux: {
        CreatePartitionIfNoEphemeralDisk: true,
        DevicePathResolutionType: 'scsi',
        PartitionerType: 'parted',
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [
          {
            Type: 'File',
            MetaDataPath: '',
            UserDataPath: '/var/lib/cloud/instance/user-data.txt',
            SettingsPath: '/var/lib/cloud/instance/user-data.txt',
          },
        ],
        UseServerName: true,
      },
    },
  },

  // bosh_google_agent_settings: GCE instance metadata (attribute bosh_settings), which insists on
  // the Metadata-Flavor header; disks show up as /dev/disk/by-id/google-*.
  google: {
    Platform: {
      Linux: {
        CreatePartitionIfNoEphemeralDisk: true,
        PartitionerType: 'parted',
        DevicePathResolutionType: 'virtio',
        VirtioDevicePrefix: 'google',
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [
          {
            Type: 'InstanceMetadata',
            URI: 'http://169.254.169.254',
            SettingsPath: '/computeMetadata/v1/instance/attributes/bosh_settings',
            Headers: { 'Metadata-Flavor': 'Google' },
          },
        ],
        UseServerName: true,
        UseRegistry: false,
      },
    },
  },

  // bosh_openstack_agent_settings: three sources in this order — a bootstrap file, the config drive
  // (either label spelling, EC2-style paths inside it), then the EC2-compatible metadata service.
  openstack: {
    Platform: {
      Linux: {
        PartitionerType: 'parted',
        CreatePartitionIfNoEphemeralDisk: true,
        DevicePathResolutionType: 'virtio',
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [
          { Type: 'File', SettingsPath: '/var/vcap/bosh/agent-bootstrap-env.json' },
          {
            Type: 'ConfigDrive',
            DiskPaths: ['/dev/disk/by-label/CONFIG-2', '/dev/disk/by-label/config-2'],
            MetaDataPath: 'ec2/latest/meta-data.json',
            UserDataPath: 'ec2/latest/user-data',
          },
          {
            Type: 'HTTP',
            URI: 'http://169.254.169.254',
            UserDataPath: '/latest/user-data',
            InstanceIDPath: '/latest/meta-data/instance-id',
            SSHKeysPath: '/latest/meta-data/public-keys/0/openssh-key',
          },
        ],
        UseServerName: true,
        UseRegistry: true,
      },
    },
  },

  // bosh_vsphere_agent_settings: the file "env" on the CD-ROM the CPI attaches. Only the partitioner
  // and SCSI resolution — no CreatePartitionIfNoEphemeralDisk, no flags under Settings.
  vsphere: {
    Platform: {
      Linux: {
        PartitionerType: 'parted',
        DevicePathResolutionType: 'scsi',
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [{ Type: 'CDROM', FileName: 'env' }],
      },
    },
  },

  // vCloud runs the same stage list as vSphere (stage_collection.rb vsphere_vcloud_stages), so
  // bosh_vsphere_agent_settings writes the same file.
  vcloud: {
    Platform: {
      Linux: {
        PartitionerType: 'parted',
        DevicePathResolutionType: 'scsi',
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [{ Type: 'CDROM', FileName: 'env' }],
      },
    },
  },

  // base_warden ("Configure go agent specifically for warden"): a container — no disk setup, no
  // partitioner, no device path resolution (the agent's identity resolver takes the CPI's paths as
  // given), the persistent disk a bind mount; settings from the file the Warden CPI writes.
  warden: {
    Platform: {
      Linux: {
        UseDefaultTmpDir: true,
        UsePreformattedPersistentDisk: true,
        BindMountPersistentDisk: true,
        SkipDiskSetup: true,
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [{ Type: 'File', SettingsPath: '/var/vcap/bosh/warden-cpi-agent-env.json' }],
      },
    },
  },

  // bosh_cloudstack_agent_settings: the mdproxy4cs proxy on port 39724 (bosh_cloudstack_ubuntu_vr_metadata)
  // in front of the virtual router's metadata, where CloudStack serves the key flat at public-keys.
  cloudstack: {
    Platform: {
      Linux: {
        PartitionerType: 'parted',
        CreatePartitionIfNoEphemeralDisk: true,
        DevicePathResolutionType: 'virtio',
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [
          {
            Type: 'HTTP',
            URI: 'http://169.254.169.254:39724',
            UserDataPath: '/latest/user-data',
            InstanceIDPath: '/latest/meta-data/instance-id',
            SSHKeysPath: '/latest/meta-data/public-keys',
          },
        ],
        UseServerName: true,
        UseRegistry: true,
      },
    },
  },

  // bosh_softlayer_agent_settings: the SoftLayer metadata REST API over HTTPS; iSCSI/multipath disks;
  // ScrubEphemeralDisk as the reference writes it (this agent ignores it).
  softlayer: {
    Platform: {
      Linux: {
        PartitionerType: 'parted',
        CreatePartitionIfNoEphemeralDisk: true,
        ScrubEphemeralDisk: true,
        DevicePathResolutionType: 'iscsi',
      },
    },
    Infrastructure: {
      Settings: {
        Sources: [
          {
            Type: 'HTTP',
            URI: 'https://api.service.softlayer.com',
            UserDataPath: '/rest/v3.1/SoftLayer_Resource_Metadata/getUserMetadata.json',
          },
        ],
        UseServerName: true,
        UseRegistry: true,
      },
    },
  },
};

/**
 * The agent.json promised for `iaas` on an OS line whose init is `serviceManager`: the facts above,
 * plus Platform.Linux.ServiceManager "systemd" on a systemd line. The agent drives monit through
 * runit's `sv` unless told otherwise (bosh-agent platform/provider.go: ServiceManager == "systemd"
 * picks NewSystemdServiceManager, anything else NewSvServiceManager); the reference's
 * ubuntu_noble_poc branch adds the same line to its agent settings stages.
 */
export function promisedAgentJson(iaas: string, serviceManager: 'runit' | 'systemd'): JsonObject {
  const fact = agentSettingsFacts[iaas];
  if (!fact) throw new Error(`no agent.json facts for infrastructure '${iaas}'`);
  const copy = JSON.parse(JSON.stringify(fact)) as JsonObject & { Platform: { Linux: JsonObject } };
  if (serviceManager === 'systemd') copy.Platform.Linux.ServiceManager = 'systemd';
  return copy;
}

function kind(v: unknown): string {
  if (v === undefined) return 'absent';
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

function show(v: unknown): string {
  return v === undefined ? '(absent)' : JSON.stringify(v);
}

/**
 * The first place where `actual` and `expected` differ, as a key path with both values
 * (e.g. `Infrastructure.Settings.Sources[0].URI: "http://x" where "http://169.254.169.254" is promised`),
 * or undefined when they are deeply equal. Object keys are compared in sorted order, so key order in
 * the file does not matter (as with assert.deepStrictEqual).
 */
export function firstDifference(actual: unknown, expected: unknown, path = ''): string | undefined {
  const here = path === '' ? '(top level)' : path;
  if (kind(actual) !== kind(expected)) return `${here}: ${show(actual)} where ${show(expected)} is promised`;
  if (Array.isArray(actual) && Array.isArray(expected)) {
    for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
      const d = firstDifference(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (typeof actual === 'object' && actual !== null && typeof expected === 'object' && expected !== null) {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(a), ...Object.keys(e)])].sort();
    for (const k of keys) {
      const d = firstDifference(a[k], e[k], path === '' ? k : `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${here}: ${show(actual)} where ${show(expected)} is promised`;
}
