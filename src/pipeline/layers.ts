// Stage layers on the build machine (stages/lib/layers.bash): every stage of a phase runs
// on its own overlayfs layer over the ones before it. A layer's key chains the key before
// it with the stage's files, so the next build reuses the longest unchanged prefix and runs
// from the first changed stage; a failed stage's layer is thrown away.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { canonicalJson, folderDigest } from '../cache/keys.js';
import { runChecked, type Machine } from '../machine/machine.js';
import type { TreeManifest } from '../sync/tree-manifest.js';
import { HintedError } from '../util/errors.js';
import { describeShortage, diagnoseSpace, noSpaceText, pruneHint } from './space-shortage.js';
import type { BuildLayout } from './layout.js';
import type { StageReads } from './stage-reads.js';

/** Layers are kept below the build root, beside the builds (a fresh build folder leaves them). */
function layersRoot(buildRoot: string): string {
  return posix.join(buildRoot, 'layers');
}

/**
 * The key of each stage's layer: the base (the phase, and for a stemcell the OS image it
 * starts from) and the shared library, chained with each stage's files and the values of
 * the settings it reads. Short (32 hex digits): overlayfs takes the whole layer list as one
 * mount option of at most a page.
 */
export function layerKeys(
  base: Record<string, unknown>,
  stages: readonly string[],
  tree: TreeManifest,
  settings: Readonly<Record<string, string>>,
  reads: StageReads,
): string[] {
  const names = Object.keys(settings);
  let previous = createHash('sha256').update(canonicalJson(base)).update(folderDigest(tree, 'stages/lib')).digest('hex');
  return stages.map((stage) => {
    const read = Object.fromEntries(reads.settingsFor(stage, names).map((n) => [n, settings[n]]));
    previous = createHash('sha256')
      .update(previous)
      .update(stage)
      .update(folderDigest(tree, `stages/${stage}`))
      .update(canonicalJson(read))
      .digest('hex');
    return previous.slice(0, 32);
  });
}

export class LayerChain {
  readonly root: string;
  private readonly buildRoot: string;
  private readonly script: string;
  /** the mount point: the whole work folder, so what a stage writes beside the chroot (disk images, the stemcell's files) is in its layer too */
  private readonly target: string;

  constructor(
    private readonly machine: Machine,
    layout: BuildLayout,
    readonly stages: readonly string[],
    readonly keys: readonly string[],
  ) {
    this.root = layersRoot(layout.root);
    this.buildRoot = layout.root;
    this.script = posix.join(layout.builderDir, 'stages', 'lib', 'layers.bash');
    this.target = layout.workDir;
  }

  private call(args: string[]): Promise<string> {
    return runChecked(this.machine, ['bash', this.script, ...args], { sudo: true });
  }

  /** How many leading stages have a complete layer. */
  async probe(): Promise<number> {
    return Number((await this.call(['probe', this.root, ...this.keys])).trim());
  }

  /**
   * Run stage `index` on a fresh layer over the ones before it; keep the layer when it succeeds,
   * throw it away when not. `mounted`: the layer is mounted already, with a stage job at work
   * on it that a killed stemforge left running (it is followed, not started).
   */
  async run<T>(index: number, stage: () => Promise<T>, options: { mounted?: boolean } = {}): Promise<T> {
    const key = this.keys[index]!;
    if (!options.mounted) {
      await this.call(['mount', this.root, this.target, key, ...this.keys.slice(0, index)]).catch((err: unknown) => this.failedMount(index, err));
    }
    try {
      const result = await stage();
      await this.call(['commit', this.root, this.target, key, this.stages[index]!]);
      return result;
    } catch (err) {
      await this.call(['discard', this.root, this.target, key]).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Keep the layer of stage `index` that a stage job finished (exit 0) after the layer was
   * mounted, while no stemforge was following it; false (nothing changed) when it did not.
   */
  async take(index: number, jobDir: string): Promise<boolean> {
    const errors: string[] = [];
    const argv = ['bash', this.script, 'take', this.root, this.target, this.keys[index]!, this.stages[index]!, jobDir];
    const result = await this.machine.run(argv, { sudo: true, onStderr: (l) => errors.push(l) });
    if (result.exitCode === 3) return false;
    if (result.exitCode !== 0) throw new Error(`${this.machine.description}: layers take ${this.stages[index]} exited ${result.exitCode}: ${errors.join(' ')}`);
    return true;
  }

  /** A new layer that could not be made: nothing of it kept, and a full disk said as such, with the stage to resume from. */
  private async failedMount(index: number, err: unknown): Promise<never> {
    await this.call(['discard', this.root, this.target, this.keys[index]!]).catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    const shortage = noSpaceText.test(message) ? await diagnoseSpace(this.machine, this.buildRoot, [message]) : undefined;
    if (!shortage) throw err;
    const stage = this.stages[index]!;
    throw new HintedError(`cannot start ${stage}: ${describeShortage(shortage)}`, `${pruneHint(this.buildRoot)}; then resume with --resume-from ${stage}`);
  }

  /** Throw away what a failed attempt left in stage `index`'s layer and mount a fresh one (a retry). */
  async reset(index: number): Promise<void> {
    await this.call(['mount', this.root, this.target, this.keys[index]!, ...this.keys.slice(0, index)]);
  }

  /** The work folder as the first `count` layers left it, read-only (to archive it). */
  async view(count = this.keys.length): Promise<void> {
    await this.call(['view', this.root, this.target, ...this.keys.slice(0, count)]);
  }

  /** The work folder over every layer, writable, on a scratch layer thrown away by `drop` (to pack the stemcell). */
  async scratch(): Promise<void> {
    await this.call(['mount', this.root, this.target, scratchKey(this.keys), ...this.keys]);
  }

  async drop(): Promise<void> {
    await this.call(['discard', this.root, this.target, scratchKey(this.keys)]);
  }

  async unmount(): Promise<void> {
    await this.call(['umount', this.target]);
  }

  /** Keep the layers' disk use under the bound, never removing this chain's. */
  async prune(maxMiB: number): Promise<string[]> {
    return (await this.call(['prune', this.root, String(maxMiB), ...this.keys])).split('\n').filter((l) => l !== '');
  }
}

function scratchKey(keys: readonly string[]): string {
  return createHash('sha256')
    .update(`scratch:${keys.at(-1) ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}
