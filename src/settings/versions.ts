// The stemcell version counter: the last version built per (OS line, infrastructure), kept
// in the user's settings file, so deleting a build or temp folder never loses it. A build
// proposes the next one; updates take a lock so two builds at once cannot go backwards.
// A build reserves its version when it starts (pid and host beside it), and the proposals
// go past every live reservation, so two builds at once never get the same version.
import { hostname } from 'node:os';
import { versionPattern } from '../stemcell/naming.js';
import { compareVersions } from '../util/dotted-version.js';
import { UsageError } from '../util/errors.js';
import { withFileLock } from '../util/file-lock.js';
import { pidAlive } from '../util/pid-alive.js';
import { checkVersion } from './validate.js';
import { openSettings, type SettingsStore } from './store.js';

/** The first version of a line that has none yet. */
const firstVersion = '0.1';

/** The version after `v`: its last number plus one (1.9 → 1.10). */
export function bumpVersion(v: string): string {
  if (!versionPattern.test(v)) throw new UsageError(`'${v}' is not a stemcell version (digits and dots)`);
  const parts = v.split('.');
  parts[parts.length - 1] = String(Number(parts[parts.length - 1]) + 1);
  return parts.join('.');
}

const counterKey = (os: string, iaas: string): string => `${os}/${iaas}`;

/** A version held by a build under way. */
export interface Reservation {
  /** "<os>/<iaas>" */
  key: string;
  version: string;
  pid: number;
  host: string;
  /** epoch milliseconds */
  at: number;
}

/** A reservation older than this is dropped even if its pid lives (pids are reused; no build runs a day). */
const reservationMaxAgeMs = 24 * 3600_000;

/** Whether a reservation still holds: its build may be running (another host's pid cannot be checked here). */
export function reservationLive(r: Reservation, now = Date.now(), thisHost = hostname()): boolean {
  if (now - r.at > reservationMaxAgeMs) return false;
  return r.host !== thisHost || pidAlive(r.pid);
}

/** Who we are, in a reservation: tests stand in for other processes. */
export interface Reserver {
  pid: number;
  host: string;
}

export class VersionCounter {
  constructor(private readonly store: SettingsStore = openSettings()) {}

  private all(): Record<string, string> {
    return { ...((this.store.get('versions') as Record<string, string> | undefined) ?? {}) };
  }

  last(os: string, iaas: string): string | undefined {
    return this.all()[counterKey(os, iaas)];
  }

  /** The version the next build of these infrastructures proposes: one past the highest built or reserved by a live build. */
  next(os: string, iaas: readonly string[]): string {
    const keys = new Set(iaas.map((i) => counterKey(os, i)));
    const reserved = this.reservations()
      .filter((r) => keys.has(r.key) && reservationLive(r))
      .map((r) => r.version);
    const lasts = [...iaas.map((i) => this.last(os, i)).filter((v): v is string => v !== undefined), ...reserved];
    if (lasts.length === 0) return firstVersion;
    return bumpVersion(lasts.sort(compareVersions).at(-1)!);
  }

  reservations(): Reservation[] {
    return [...((this.store.get('reservations') as Reservation[] | undefined) ?? [])];
  }

  /**
   * Reserve the version of a build that starts now, for each infrastructure: `given` when the
   * user named one (reserved too, so others' proposals go past it; never refused: the user
   * chose it), else the next past every live reservation. Dead reservations are dropped.
   */
  async reserve(os: string, iaas: readonly string[], given?: string, who: Reserver = { pid: process.pid, host: hostname() }): Promise<string> {
    let version = '';
    await this.locked(() => {
      const now = Date.now();
      const live = this.reservations().filter((r) => reservationLive(r, now));
      version = given ?? this.next(os, iaas);
      const mine = iaas.map((i) => ({ key: counterKey(os, i), version, pid: who.pid, host: who.host, at: now }));
      this.store.set('reservations', [...live, ...mine]);
    });
    return version;
  }

  /** The build of `version` ended: its reservations go (a success records the version first). */
  async release(os: string, iaas: readonly string[], version: string, who: Reserver = { pid: process.pid, host: hostname() }): Promise<void> {
    const keys = new Set(iaas.map((i) => counterKey(os, i)));
    await this.locked(() => {
      const kept = this.reservations().filter((r) => !(keys.has(r.key) && r.version === version && r.pid === who.pid && r.host === who.host));
      this.store.set('reservations', kept);
    });
  }

  list(): { os: string; iaas: string; last: string; next: string }[] {
    return Object.entries(this.all())
      .map(([key, last]) => {
        const [os, iaas] = key.split('/') as [string, string];
        return { os, iaas, last, next: bumpVersion(last) };
      })
      .sort((a, b) => (a.os + a.iaas).localeCompare(b.os + b.iaas));
  }

  /** A build of `version` finished: the counter moves up to it, never down. */
  async record(os: string, iaas: string, version: string): Promise<void> {
    await this.locked(() => {
      const all = this.all();
      const last = all[counterKey(os, iaas)];
      if (last === undefined || compareVersions(version, last) > 0) {
        all[counterKey(os, iaas)] = version;
        this.store.set('versions', all);
      }
    });
  }

  /** Set the counter by hand (`stemforge version set`), up or down. */
  async set(os: string, iaas: string, version: string): Promise<void> {
    checkVersion(version, 'version set: version');
    await this.locked(() => this.store.set('versions', { ...this.all(), [counterKey(os, iaas)]: version }));
  }

  /** One writer at a time across processes: a lock file beside the settings file. */
  private async locked(update: () => void): Promise<void> {
    await withFileLock(`${this.store.path}.lock`, update, { what: 'the version counter', staleMs: 30_000 });
  }
}
