// POSIX shell quoting for everything that reaches a remote shell. ssh runs a command
// string through the login shell, so every argument is quoted here and nowhere else.

const safe = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one argument so a POSIX shell reads it back byte for byte. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  if (arg !== '' && safe.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Quote an argv into one command string. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `env -i K=V … argv` — the command runs with exactly this environment. */
export function withCleanEnv(env: Readonly<Record<string, string>>, argv: readonly string[]): string[] {
  const assignments = Object.entries(env).map(([k, v]) => {
    if (!envName.test(k)) throw new Error(`invalid environment variable name: ${JSON.stringify(k)}`);
    return `${k}=${v}`;
  });
  return ['env', '-i', ...assignments, ...argv];
}
