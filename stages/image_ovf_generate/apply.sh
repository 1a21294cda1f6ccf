#!/usr/bin/env bash
# Writes the OVF 1.0 descriptor (1 CPU, 512 MB, lsilogic disk, SATA CD-ROM) and the SHA1 manifest for work/ovf/image-disk1.vmdk.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/disk.bash"

# shellcheck disable=SC2119 # no layouts named: any disk layout will do
disk_env_load
ovf_dir="$work/ovf"
vmdk="$ovf_dir/image-disk1.vmdk"
[ -f "$vmdk" ] || fail "no $vmdk (image_ovf_vmx makes it)"

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<< "$1"; }
name=$(xml_escape "$stemcell_name")
case "$os_distro" in
  ubuntu) os_id=94 os_type=ubuntu64Guest os_text='Ubuntu Linux (64-bit)' ;;
  # the oldest Debian 64-bit type every supported vSphere knows
  debian) os_id=96 os_type=debian10_64Guest os_text='Debian GNU/Linux (64-bit)' ;;
  *) os_id=101 os_type=otherLinux64Guest os_text='Other Linux (64-bit)' ;;
esac
# A disk with an ESP boots through UEFI, as the reference's VM (firmware = efi); the others by BIOS.
firmware=bios
if [ "$disk_layout" = efi ]; then firmware=efi; fi

write_file 0644 "$ovf_dir/image.ovf" << OVF
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by stemforge (image_ovf_generate) -->
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
    xmlns:vmw="http://www.vmware.com/schema/ovf"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:href="image-disk1.vmdk" ovf:id="file1" ovf:size="$(stat -c %s "$vmdk")"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="$((disk_sectors / 2048))" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="$name">
    <Info>A virtual machine</Info>
    <Name>$name</Name>
    <OperatingSystemSection ovf:id="$os_id" vmw:osType="$os_type">
      <Info>The kind of installed guest operating system</Info>
      <Description>$os_text</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>$name</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>1 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>512MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>512</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>SCSI Controller</rasd:Description>
        <rasd:ElementName>SCSI controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>SATA Controller</rasd:Description>
        <rasd:ElementName>SATA controller 0</rasd:ElementName>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:ResourceSubType>vmware.sata.ahci</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item ovf:required="false">
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>
        <rasd:ElementName>CD/DVD drive 1</rasd:ElementName>
        <rasd:InstanceID>6</rasd:InstanceID>
        <rasd:Parent>4</rasd:Parent>
        <rasd:ResourceSubType>vmware.cdrom.remotepassthrough</rasd:ResourceSubType>
        <rasd:ResourceType>15</rasd:ResourceType>
      </Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="$firmware"/>
      <vmw:Config ovf:required="false" vmw:key="tools.toolsUpgradePolicy" vmw:value="manual"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
OVF
if command -v xmllint > /dev/null 2>&1; then
  xmllint --noout "$ovf_dir/image.ovf" || fail "image.ovf is not well-formed XML"
fi

# OVF 1.0 manifest lines: SHA1(file)= hex
(cd "$ovf_dir" && for f in image.ovf image-disk1.vmdk; do printf 'SHA1(%s)= %s\n' "$f" "$(sha1sum < "$f" | cut -d' ' -f1)"; done) \
  | write_file 0644 "$ovf_dir/image.mf"
log "image.ovf ($os_type, firmware $firmware) and image.mf written"
