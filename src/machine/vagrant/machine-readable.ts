// Parsing `vagrant … --machine-readable` output: one event per line,
// "timestamp,target,type,data…", with commas inside data written as %!(VAGRANT_COMMA)
// and newlines as a literal backslash-n.

export interface MachineReadableEvent {
  timestamp: number;
  target: string;
  type: string;
  data: string[];
}

function unescape(field: string): string {
  return field
    .replace(/%!\(VAGRANT_COMMA\)/g, ',')
    .replace(/\\n/g, '\n')
    .replace(/\\r/g, '\r');
}

export function parseMachineReadable(output: string): MachineReadableEvent[] {
  const events: MachineReadableEvent[] = [];
  for (const line of output.split(/\r?\n/)) {
    const fields = line.split(',');
    if (fields.length < 3 || !/^\d+$/.test(fields[0]!)) continue; // not an event line
    events.push({
      timestamp: Number(fields[0]),
      target: fields[1]!,
      type: fields[2]!,
      data: fields.slice(3).map(unescape),
    });
  }
  return events;
}

export interface VagrantStatus {
  /** e.g. not_created, running, shutoff, poweroff, saved, paused */
  state: string;
  /** the provider Vagrant reports for the machine */
  provider?: string;
  /** a human sentence about the state, when Vagrant gives one */
  description?: string;
}

/** The state of the (single) machine from `vagrant status --machine-readable`. */
export function parseStatus(output: string): VagrantStatus {
  const events = parseMachineReadable(output).filter((e) => e.target !== '');
  const state = events.find((e) => e.type === 'state')?.data[0];
  if (!state) throw new Error(`vagrant status printed no machine state:\n${output.slice(0, 500)}`);
  return {
    state,
    provider: events.find((e) => e.type === 'provider-name')?.data[0],
    description: events.find((e) => e.type === 'state-human-long')?.data[0],
  };
}

/** Errors Vagrant reported as events ("error-exit"), joined. */
export function errorMessages(output: string): string[] {
  return parseMachineReadable(output)
    .filter((e) => e.type === 'error-exit')
    .map((e) => e.data.slice(1).join(',').trim() || e.data.join(',').trim());
}
