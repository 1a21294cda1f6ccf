// Parsing `vagrant ssh-config`: what stemforge needs to open its own SSH connection.
// Vagrant's StrictHostKeyChecking/UserKnownHostsFile lines are read and ignored on purpose:
// stemforge checks the VM's host key itself (trust on first use, then pinned).

export interface VagrantSshConfig {
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
}

export function parseSshConfig(output: string): VagrantSshConfig {
  const values = new Map<string, string[]>();
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1]!.toLowerCase();
    const value = match[2]!.replace(/^"(.*)"$/, '$1');
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  const first = (key: string): string | undefined => values.get(key)?.[0];
  const host = first('hostname');
  const user = first('user');
  if (!host || !user) throw new Error(`vagrant ssh-config has no HostName or User:\n${output.slice(0, 500)}`);
  const port = Number(first('port') ?? 22);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`vagrant ssh-config has a bad Port: ${first('port')}`);
  return { host, port, user, identityFiles: values.get('identityfile') ?? [] };
}
