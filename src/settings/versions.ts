// The stemcell version counter: the last version built per (OS line, infrastructure), kept
// in the user's settings file, so deleting a build or temp folder never loses it. A build
// proposes the next one; updates take a lock so two builds at once cannot go backwards.
import { versionPattern } from '../stemcell/naming.js';
import { compareVersions } from '../util/dotted-version.js';
import { UsageError } from '../util/errors.js';
import { withFileLock } from '../util/file-lock.js';
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

export class VersionCounter {
  constructor(private readonly store: SettingsStore = openSettings()) {}

  private all(): Record<string, string> {
    return { ...((this.store.get('versions') as Record<string, string> | undefined) ?? {}) };
  }

  last(os: string, iaas: string): string | undefined {
    return this.all()[counterKey(os, iaas)];
  }

  /** The version the next build of these infrastructures proposes: one past the highest of them. */
  next(os: string, iaas: readonly string[]): string {
    const lasts = iaas.map((i) => this.last(os, i)).filter((v): v is string => v !== undefined);
    if (lasts.length === 0) return firstVersion;
    return bumpVersion(lasts.sort(compareVersions).at(-1)!);
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
