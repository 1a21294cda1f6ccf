// Helpers that turn the process's flags and environment into parts of a request.
import { shellJoin } from '../machine/quote.js';

const proxyNames = ['http_proxy', 'https_proxy', 'no_proxy'] as const;

/** The proxy variables (either case) — the only host variables that reach the stages. */
export function proxyEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of proxyNames) {
    const value = env[name] ?? env[name.toUpperCase()];
    if (value) out[name] = value;
  }
  return out;
}

/** The command line that resumes this run at `stage`: the same flags, --resume-from replaced. */
export function resumeCommand(argv: readonly string[], stage: string): string {
  const args = argv.slice(2);
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--resume-from') {
      i++;
      continue;
    }
    if (arg.startsWith('--resume-from=') || arg === '--dry-run') continue;
    kept.push(arg);
  }
  return shellJoin(['stemforge', ...kept, '--resume-from', stage]);
}
