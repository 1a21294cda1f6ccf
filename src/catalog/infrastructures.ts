// The infrastructure table of the reference builder (infrastructure.rb + stage lists),
// as data. See shared/reference/stemcell-builder-facts.md §3.

export type DiskFormat = 'raw' | 'rawdisk' | 'qcow2' | 'vhd' | 'vhdx' | 'ovf' | 'files';

export interface Infrastructure {
  name: string;
  /** one plain line for someone who has never used BOSH: where this stemcell runs and what it is */
  summary: string;
  /** the hypervisor recorded in stemcell.MF cloud_properties */
  hypervisor: string;
  /** the hypervisor word in stemcell names and file names (aws: xen-hvm) */
  nameHypervisor: string;
  /** first = default */
  diskFormats: DiskFormat[];
  stemcellFormats: string[];
  diskSizeMiB: number;
  cloudProperties: Record<string, string | number | boolean>;
  /** build_stemcell_image_stages, before bosh_package_list; plus system_initramfs (ours) before the disk image */
  imageStages: string[];
}

// vSphere and vCloud build the same image; only names and formats differ.
const vsphereImageStages = [
  'system_network',
  'system_open_vm_tools',
  'system_vsphere_cdrom',
  'system_parameters',
  'bosh_clean',
  'bosh_harden',
  'bosh_enable_password_authentication',
  'bosh_vsphere_agent_settings',
  'bosh_clean_ssh',
  'system_initramfs',
  'image_create_efi',
  'image_install_grub_efi',
  'sbom_create',
];

export const infrastructures: readonly Infrastructure[] = [
  {
    name: 'aws',
    summary: 'Amazon EC2: a raw disk image, made into an AMI',
    hypervisor: 'xen',
    nameHypervisor: 'xen-hvm',
    diskFormats: ['raw'],
    stemcellFormats: ['aws-raw'],
    diskSizeMiB: 5120,
    cloudProperties: { root_device_name: '/dev/sda1' },
    imageStages: [
      'system_network',
      'system_aws_modules',
      'system_parameters',
      'bosh_clean',
      'bosh_harden',
      'bosh_aws_agent_settings',
      'bosh_clean_ssh',
      'udev_aws_rules',
      'system_initramfs',
      'image_create',
      'image_install_grub',
      'sbom_create',
    ],
  },
  {
    name: 'alicloud',
    summary: 'Alibaba Cloud ECS: a raw disk image',
    hypervisor: 'kvm',
    nameHypervisor: 'kvm',
    diskFormats: ['raw'],
    stemcellFormats: ['alicloud-raw'],
    diskSizeMiB: 5120,
    cloudProperties: { root_device_name: '/dev/vda1' },
    imageStages: [
      'system_network',
      'system_alicloud',
      'system_parameters',
      'bosh_clean',
      'bosh_harden',
      'bosh_alicloud_agent_settings',
      'bosh_clean_ssh',
      'system_initramfs',
      'image_create',
      'image_install_grub',
      'sbom_create',
    ],
  },
  {
    name: 'azure',
    summary: 'Microsoft Azure: a fixed-size VHD disk',
    hypervisor: 'hyperv',
    nameHypervisor: 'hyperv',
    diskFormats: ['vhd'],
    stemcellFormats: ['azure-vhd'],
    diskSizeMiB: 5120,
    cloudProperties: { root_device_name: '/dev/sda1' },
    imageStages: [
      'system_azure_network',
      'system_azure_init',
      'system_parameters',
      'enable_udf_module',
      'bosh_azure_chrony',
      'bosh_clean',
      'bosh_harden',
      'bosh_azure_agent_settings',
      'bosh_clean_ssh',
      'system_initramfs',
      'image_create',
      'image_install_grub',
      'sbom_create',
    ],
  },
  {
    name: 'google',
    summary: 'Google Compute Engine: a raw disk in a tarball',
    hypervisor: 'kvm',
    nameHypervisor: 'kvm',
    diskFormats: ['rawdisk'],
    stemcellFormats: ['google-rawdisk'],
    diskSizeMiB: 5120,
    cloudProperties: { root_device_name: '/dev/sda1' },
    imageStages: [
      'system_network',
      'system_google_modules',
      'system_google_packages',
      'system_parameters',
      'bosh_clean',
      'bosh_harden',
      'bosh_google_agent_settings',
      'bosh_clean_ssh',
      'system_initramfs',
      'image_create',
      'image_install_grub',
      'sbom_create',
    ],
  },
  {
    name: 'openstack',
    summary: 'OpenStack or any KVM cloud: a qcow2 (or raw) disk; boots here under QEMU',
    hypervisor: 'kvm',
    nameHypervisor: 'kvm',
    diskFormats: ['qcow2', 'raw'],
    stemcellFormats: ['openstack-qcow2', 'openstack-raw'],
    diskSizeMiB: 5120,
    cloudProperties: { auto_disk_config: true },
    imageStages: [
      'system_network',
      'system_openstack_clock',
      'system_openstack_modules',
      'system_parameters',
      'bosh_clean',
      'bosh_harden',
      'bosh_openstack_agent_settings',
      'bosh_clean_ssh',
      'system_initramfs',
      'image_create',
      'image_install_grub',
      'sbom_create',
    ],
  },
  {
    name: 'vsphere',
    summary: 'VMware vSphere (ESXi): an OVF appliance',
    hypervisor: 'esxi',
    nameHypervisor: 'esxi',
    diskFormats: ['ovf'],
    stemcellFormats: ['vsphere-ova', 'vsphere-ovf'],
    diskSizeMiB: 5120,
    cloudProperties: { root_device_name: '/dev/sda1' },
    imageStages: vsphereImageStages,
  },
  {
    name: 'vcloud',
    summary: 'VMware vCloud Director: an OVF appliance',
    hypervisor: 'esxi',
    nameHypervisor: 'esxi',
    diskFormats: ['ovf'],
    stemcellFormats: ['vcloud-ova', 'vcloud-ovf'],
    diskSizeMiB: 5120,
    cloudProperties: { root_device_name: '/dev/sda1' },
    imageStages: vsphereImageStages,
  },
  {
    name: 'warden',
    summary: 'bosh-lite, BOSH on one machine whose VMs are containers: a file tree, no disk',
    hypervisor: 'boshlite',
    nameHypervisor: 'boshlite',
    diskFormats: ['files'],
    stemcellFormats: ['warden-tar'],
    diskSizeMiB: 5120,
    cloudProperties: { root_device_name: '/dev/sda1' },
    // The reference also makes a GRUB disk image here, which the files format never uses
    // (it packs the chroot); we leave those two stages out.
    imageStages: ['system_parameters', 'base_warden', 'bosh_clean', 'bosh_harden', 'bosh_clean_ssh', 'system_initramfs', 'sbom_create'],
  },
  {
    name: 'cloudstack',
    summary: 'Apache CloudStack on XenServer: a VHDX disk',
    hypervisor: 'xen',
    nameHypervisor: 'xen',
    diskFormats: ['vhdx'],
    stemcellFormats: ['cloudstack-vhdx'],
    diskSizeMiB: 5120,
    cloudProperties: { auto_disk_config: true },
    imageStages: [
      'system_network',
      'system_openstack_modules',
      'bosh_cloudstack_ubuntu_vr_metadata',
      'system_ubuntu_xen_tools',
      'system_parameters',
      'system_vhd_utils_tools',
      'bosh_clean',
      'bosh_harden',
      'bosh_cloudstack_agent_settings',
      'bosh_clean_ssh',
      'system_initramfs',
      'image_create',
      'image_install_grub',
      'sbom_create',
    ],
  },
  {
    name: 'softlayer',
    summary: 'IBM Cloud classic infrastructure (SoftLayer): an OVF with a 25 GiB disk',
    hypervisor: 'esxi',
    nameHypervisor: 'esxi',
    diskFormats: ['ovf'],
    stemcellFormats: ['softlayer-ovf'],
    diskSizeMiB: 25600,
    cloudProperties: { root_device_name: '/dev/sda1' },
    // The reference has no sbom_create here although its packager needs the SBOM files;
    // we keep it, so every stemcell carries its SBOMs.
    imageStages: [
      'system_network',
      'system_softlayer_open_iscsi',
      'system_softlayer_multipath_tools',
      'system_softlayer_netplan',
      'system_parameters',
      'bosh_clean',
      'bosh_harden',
      'bosh_enable_password_authentication',
      'bosh_softlayer_agent_settings',
      'bosh_config_root_ssh_login',
      'bosh_clean_ssh',
      'system_initramfs',
      'image_create_softlayer_two_partitions',
      'image_install_grub_softlayer_two_partitions',
      'sbom_create',
    ],
  },
];

/**
 * What to pick to try stemforge on a laptop: an openstack qcow2 stemcell is the one a plain
 * laptop can boot (`stemforge verify FILE --boot`, QEMU); warden needs a BOSH Director with
 * Garden to run it, and the other disks need their cloud.
 */
export const tryItLocally = {
  iaas: 'openstack',
  diskFormat: 'qcow2',
  how: 'then `stemforge verify FILE --boot` boots it here under QEMU',
} as const satisfies { iaas: string; diskFormat: DiskFormat; how: string };

/** Stages of the stemcell phase around the per-infrastructure list. */
export const stemcellStages = {
  extract: ['untar_base_os_image'],
  kernel: ['system_kernel', 'system_kernel_modules'],
  agent: ['bosh_go_agent', 'blobstore_clis', 'logrotate_config', 'dev_tools_config', 'static_libraries_config'],
  finish: ['bosh_package_list'],
} as const;

/** Packaging stages, run once per disk format. */
export const packageStages: Record<DiskFormat, string[]> = {
  raw: ['prepare_raw_image_stemcell'],
  rawdisk: ['prepare_rawdisk_image_stemcell'],
  qcow2: ['prepare_qcow2_image_stemcell'],
  ovf: ['image_ovf_vmx', 'image_ovf_generate', 'prepare_ovf_image_stemcell'],
  vhd: ['prepare_vhd_image_stemcell'],
  vhdx: ['prepare_vhdx_image_stemcell'],
  files: ['prepare_files_image_stemcell'],
};
