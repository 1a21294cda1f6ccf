// BIOS or EFI for a disk image: from its partition table (an EFI system partition means EFI) and,
// failing that, from what stemcell.MF says (Noble's aws boot_mode).
import { access } from 'node:fs/promises';
import { join } from 'node:path';

export type Firmware = 'bios' | 'efi';

export interface FirmwareChoice {
  firmware: Firmware;
  reason: string;
}

const sector = 512;
// C12A7328-F81F-11D2-BA4B-00A0C93EC93B as GPT stores it (first three fields little-endian)
const espGuid = Buffer.from('28732ac11ff8d211ba4b00a0c93ec93b', 'hex');

/** What the partition table at the start of a disk says; `head` is the disk's first bytes (1 MiB is plenty). */
export function partitionTableFirmware(head: Buffer): FirmwareChoice | undefined {
  if (head.length < sector || head[510] !== 0x55 || head[511] !== 0xaa) return undefined;
  const types = [0, 1, 2, 3].map((i) => head[446 + i * 16 + 4] ?? 0);
  if (types.includes(0xee)) {
    if (head.length < 2 * sector || head.subarray(sector, sector + 8).toString('latin1') !== 'EFI PART') {
      return { firmware: 'bios', reason: 'protective MBR without a readable GPT header' };
    }
    const entriesAt = Number(head.readBigUInt64LE(sector + 72)) * sector;
    const count = head.readUInt32LE(sector + 80);
    const size = head.readUInt32LE(sector + 84);
    for (let i = 0; i < Math.min(count, 256) && size >= 16; i++) {
      const at = entriesAt + i * size;
      if (at + 16 > head.length) break;
      if (head.subarray(at, at + 16).equals(espGuid)) return { firmware: 'efi', reason: `GPT partition ${i + 1} is an EFI system partition (EF00)` };
    }
    return { firmware: 'bios', reason: 'GPT without an EFI system partition' };
  }
  const esp = types.indexOf(0xef);
  if (esp >= 0) return { firmware: 'efi', reason: `MBR partition ${esp + 1} has type ef (EFI system)` };
  return { firmware: 'bios', reason: 'MBR without an EFI system partition' };
}

export function chooseFirmware(head: Buffer, cloudProperties: Record<string, unknown>): FirmwareChoice {
  const table = partitionTableFirmware(head);
  if (table?.firmware === 'efi') return table;
  const bootMode = cloudProperties.boot_mode;
  if (bootMode === 'uefi') return { firmware: 'efi', reason: 'stemcell.MF cloud_properties.boot_mode is uefi' };
  return table ?? { firmware: 'bios', reason: 'no MBR signature; trying BIOS' };
}

/**
 * What the disk lacks to boot with `firmware`, or undefined: BIOS runs the boot sector only
 * when it ends in the MBR signature 0x55AA (bytes 510-511); EFI loads its boot loader from an
 * EFI system partition. Without either the firmware finds nothing, and a boot would only wait.
 */
export function missingBootPart(head: Buffer, firmware: Firmware): string | undefined {
  const signed = head.length >= sector && head[510] === 0x55 && head[511] === 0xaa;
  if (firmware === 'bios') return signed ? undefined : 'no boot sector (no MBR signature 0x55AA at byte 510)';
  if (partitionTableFirmware(head)?.firmware === 'efi') return undefined;
  return signed
    ? 'no EFI system partition (neither a GPT EF00 partition nor an MBR partition of type ef)'
    : 'no partition table (no MBR signature 0x55AA at byte 510), so no EFI system partition';
}

/** OVMF firmware and its variable store template, where distributions put them. */
const ovmfPairs: [string, string][] = [
  ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
  ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
  ['/usr/share/ovmf/OVMF_CODE.fd', '/usr/share/ovmf/OVMF_VARS.fd'],
  ['/usr/share/edk2/ovmf/OVMF_CODE.fd', '/usr/share/edk2/ovmf/OVMF_VARS.fd'],
  ['/usr/share/edk2/x64/OVMF_CODE.4m.fd', '/usr/share/edk2/x64/OVMF_VARS.4m.fd'],
];
/** A single-file build (code and variables together), used as -bios. */
const ovmfSingle = ['/usr/share/ovmf/OVMF.fd', '/usr/share/OVMF/OVMF.fd', '/usr/share/qemu/OVMF.fd'];

export type Ovmf = { code: string; vars: string } | { bios: string };

export async function findOvmf(roots: readonly string[] = ['/']): Promise<Ovmf | undefined> {
  const exists = async (p: string): Promise<boolean> =>
    access(p).then(
      () => true,
      () => false,
    );
  for (const root of roots) {
    for (const [code, vars] of ovmfPairs) {
      if ((await exists(join(root, code))) && (await exists(join(root, vars)))) return { code: join(root, code), vars: join(root, vars) };
    }
    for (const bios of ovmfSingle) if (await exists(join(root, bios))) return { bios: join(root, bios) };
  }
  return undefined;
}
