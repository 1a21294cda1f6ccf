// Which settings a stage reads, found in its text: the names its own files use, and those of
// the library files it calls (a library file is "called" when a function it defines is
// named; followed from file to file), plus the core every stage sources. Conservative by
// construction: a name that appears counts as read. A stage's layer key hashes only these
// values, so an infrastructure-specific setting does not invalidate the stages before the
// first one that reads it (the kernel of a second infrastructure is reused).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/paths.js';

/** Sourced by every stage through prelude.bash. */
const coreLibrary = ['prelude.bash', 'helpers.bash', 'chroot.bash', 'emulation.bash'];

interface LibraryFile {
  name: string;
  text: string;
  functions: string[];
}

function textsOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.(sh|bash)$/.test(e.name))
    .map((e) => readFileSync(join(dir, e.name), 'utf8'));
}

const words = (text: string): Set<string> => new Set(text.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);

export class StageReads {
  private readonly library: LibraryFile[];

  constructor(private readonly root: string = packageRoot) {
    const libDir = join(root, 'stages', 'lib');
    // the sourced library only: files with a #! line are programs the runner starts (layers, stage jobs)
    this.library = readdirSync(libDir)
      .filter((n) => n.endsWith('.bash'))
      .sort()
      .map((name) => ({ name, text: readFileSync(join(libDir, name), 'utf8') }))
      .filter((f) => !f.text.startsWith('#!'))
      .map(({ name, text }) => ({ name, text, functions: [...text.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{/gm)].map((m) => m[1]!) }));
  }

  /** The library files a stage's text reaches, the core included. */
  libraryFor(stage: string): string[] {
    const reached = new Set(coreLibrary.filter((n) => this.library.some((f) => f.name === n)));
    const pending = [...textsOf(join(this.root, 'stages', stage)), ...this.library.filter((f) => reached.has(f.name)).map((f) => f.text)];
    while (pending.length > 0) {
      const used = words(pending.pop()!);
      for (const file of this.library) {
        if (reached.has(file.name) || !file.functions.some((fn) => used.has(fn))) continue;
        reached.add(file.name);
        pending.push(file.text);
      }
    }
    return [...reached].sort();
  }

  /** The settings (of `names`) the stage's files and the library files it reaches mention. */
  settingsFor(stage: string, names: readonly string[]): string[] {
    const texts = [...textsOf(join(this.root, 'stages', stage)), ...this.libraryFor(stage).map((n) => this.library.find((f) => f.name === n)!.text)];
    const used = new Set<string>();
    for (const text of texts) for (const w of words(text)) used.add(w);
    return names.filter((n) => used.has(n));
  }
}
