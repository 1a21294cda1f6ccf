// The infrastructures and OS lines as the wizard lists them: the name, then its plain line
// from the catalog. The same lines close `stemforge build --help`.
import { infrastructures, tryItLocally } from '../catalog/infrastructures.js';
import { operatingSystems } from '../catalog/operating-systems.js';

const recommended = ' (recommended to try it)';

function aligned(items: readonly { name: string; summary: string }[], extra: (name: string) => string = () => ''): { name: string; text: string }[] {
  const width = Math.max(...items.map((i) => i.name.length));
  return items.map((i) => ({ name: i.name, text: `${i.name.padEnd(width)}  ${i.summary}${extra(i.name)}` }));
}

export const infrastructureLines = (): { name: string; text: string }[] => aligned(infrastructures, (name) => (name === tryItLocally.iaas ? recommended : ''));

export const osLines = (): { name: string; text: string }[] => aligned(operatingSystems);

/** The text after the build command's flags: what each --iaas and --os value is. */
export function catalogHelp(): string {
  const block = (title: string, lines: { text: string }[]): string => [title, ...lines.map((l) => `  ${l.text}`)].join('\n');
  return `\n${block('Infrastructures (--iaas):', infrastructureLines())}\n\n${block('OS lines (--os):', osLines())}`;
}
