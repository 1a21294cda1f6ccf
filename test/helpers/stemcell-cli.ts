// Runs `stemforge inspect|verify` as a user would. Until main.ts registers the stemcell commands,
// the test-only entry below wires them the way main.ts does (exit codes, Ctrl-C → abort).
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { addInspectVerifyCommands } from '../../src/cli/inspect-verify-commands.js';
import { packageRoot } from '../../src/util/paths.js';

const realCli = join(packageRoot, 'bin', 'stemforge.js');
const thisFile = fileURLToPath(import.meta.url);

let registered: boolean | undefined;
/** The real CLI when it has the commands, else this file as a stand-in entry. */
export function stemforgeEntry(): string {
  registered ??= /\binspect\b/.test(spawnSync(process.execPath, [realCli, '--help'], { encoding: 'utf8' }).stdout ?? '');
  return registered ? realCli : thisFile;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function stemforgeSync(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [stemforgeEntry(), ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Started in the background, e.g. to interrupt it; `stderr` grows as the command writes.
 * `entry`: another copy's bin/stemforge.js (a test that edits the stages runs a copy).
 */
export function stemforgeSpawn(args: string[], env: NodeJS.ProcessEnv = {}, entry: string = stemforgeEntry()) {
  const child = spawn(process.execPath, [entry, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, ...out })));
  return { child, out, done };
}

async function standIn(): Promise<void> {
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  let code = 0;
  const program = new Command('stemforge').exitOverride();
  addInspectVerifyCommands(program, (c) => (code = c), controller.signal);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    code = err instanceof CommanderError ? (err.exitCode === 0 ? 0 : 2) : 1;
  }
  if (controller.signal.aborted && code !== 0) code = 130;
  process.exitCode = code;
}

if (process.argv[1] === thisFile) await standIn();
