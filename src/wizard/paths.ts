// Paths typed at a question: `~` expanded as a shell would, and the file or folder checked
// there, so a wrong path is asked again instead of failing after "Build this?".
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** `~` and `~/…` are the home folder; anything else (also `~user`) is left as typed. */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why PATH is not a readable file (the message ends with FIX), or undefined when it is. */
export function fileProblem(path: string, fix: string): string | undefined {
  const stat = statOf(path);
  if (!stat) return `no such file: ${path}; ${fix}`;
  if (!stat.isFile()) return `${path} is not a file; ${fix}`;
  if (!readable(path)) return `${path} is not readable by this user; ${fix}`;
  return undefined;
}

/** Why PATH cannot be the output folder (made when missing), or undefined when it can. */
export function outputFolderProblem(path: string): string | undefined {
  const stat = statOf(path);
  if (stat && !stat.isDirectory()) return `${path} is a file; name a folder (a missing one is made)`;
  // a missing folder is made inside its nearest existing parent, which must take it
  let existing = resolve(path);
  while (!statOf(existing)) existing = dirname(existing);
  if (!statOf(existing)!.isDirectory()) return `${existing} is a file, so ${path} cannot be made; name another folder`;
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    return `${existing} is not writable by this user; name a folder you can write to`;
  }
  return undefined;
}
