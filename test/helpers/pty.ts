// A command in a real pseudo-terminal, for tests that drive prompts as a user does: each
// terminal is a private tmux server (its own socket and config in a temporary folder), so
// nothing of the user's tmux is read or touched, and stop() ends only that server.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { shellJoin } from '../../src/machine/quote.js';

/** Why tmux tests cannot run here, or undefined when they can. */
export function tmuxUnavailable(): string | undefined {
  const r = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'tmux is not installed (scripts/install-build-deps.sh installs it)';
}

export interface PtyOptions {
  /** the working folder of the command */
  cwd: string;
  /** on top of this process's environment; undefined removes a variable. CI, TMUX and TMUX_PANE are always removed first. */
  env?: Record<string, string | undefined>;
  width?: number;
  height?: number;
}

export interface Pty {
  /** the screen as text (with history: the scrollback too); lines the terminal wrapped are joined. After the command ends, a last line `[pty: exit N]`. */
  capture(history?: boolean): string;
  /** tmux key names: Down, Up, Enter, Space, C-c, … */
  sendKeys(...keys: string[]): void;
  /** text typed as it is (send-keys -l) */
  type(text: string): void;
  /** polls the screen every 100 ms until it matches; resolves to that screen, rejects (showing the screen) after timeoutMs */
  waitFor(what: string | RegExp | ((screen: string) => boolean), timeoutMs?: number): Promise<string>;
  /** resolves to the command's exit status once it has ended and its output is on the screen */
  waitForExit(timeoutMs?: number): Promise<number>;
  /** ends this terminal's tmux server and removes its folder */
  stop(): void;
}

const session = 'pty';
/** the line after the command's output: `[pty: exit N]` */
const exitMark = '[pty: exit';

/** Run argv in a new terminal of width × height (default 120 × 50). The pane stays after the command ends, to read its last screen. */
export function startPty(argv: readonly string[], options: PtyOptions): Pty {
  const dir = mkdtempSync(join(tmpdir(), 'sf-pty-'));
  const socket = join(dir, 'tmux.sock');
  const config = join(dir, 'tmux.conf');
  writeFileSync(
    config,
    ['set -g remain-on-exit on', 'set -g default-terminal xterm-256color', 'set -g default-shell /bin/sh', 'set -g history-limit 5000', ''].join('\n'),
  );
  // the server's environment, hence the pane's, is the one of the client that starts it
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['CI', 'TMUX', 'TMUX_PANE']) delete env[name];
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  env.TERM = 'xterm-256color';

  const tmux = (args: string[], check = true): string => {
    const r = spawnSync('tmux', ['-f', config, '-S', socket, ...args], { env, encoding: 'utf8' });
    if (check && r.status !== 0) throw new Error(`tmux ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  // The shell that runs the command writes its exit status on the terminal after it; once
  // that line is on the screen, so is everything the command wrote. Not tmux's
  // #{pane_dead_status}: Debian's tmux (built with libutempter) can miss the SIGCHLD of a
  // pane's process (tmux/tmux#311), leaving it a zombie and that status empty for good.
  const script = `${shellJoin(argv)}; printf '\\n${exitMark} %s]\\n' "$?"`;
  tmux(['new-session', '-d', '-s', session, '-x', String(options.width ?? 120), '-y', String(options.height ?? 50), '-c', options.cwd, script]);

  const capture = (history = true): string =>
    tmux(['capture-pane', '-p', '-J', '-t', session, ...(history ? ['-S', '-'] : [])])
      .replace(/\s+$/, '')
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n');
  const matches = (what: string | RegExp | ((screen: string) => boolean), screen: string): boolean =>
    typeof what === 'string' ? screen.includes(what) : what instanceof RegExp ? what.test(screen) : what(screen);
  const exitStatus = (): number | undefined => {
    const found = new RegExp(`^${exitMark.replace('[', '\\[')} (\\d+)\\]$`, 'm').exec(capture());
    return found ? Number(found[1]) : undefined;
  };

  return {
    capture,
    sendKeys: (...keys) => void tmux(['send-keys', '-t', session, ...keys]),
    type: (text) => void tmux(['send-keys', '-t', session, '-l', text]),
    async waitFor(what, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const screen = capture();
        if (matches(what, screen)) return screen;
        if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${String(what)}; the screen:\n${screen}`);
        await sleep(100);
      }
    },
    async waitForExit(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const code = exitStatus();
        if (code !== undefined) return code;
        if (Date.now() > deadline) {
          const tty = tmux(['display-message', '-p', '-t', session, '#{pane_tty}']).trim();
          const ps = spawnSync('ps', ['-o', 'pid,ppid,stat,etime,wchan:20,args', '-t', tty], { encoding: 'utf8' }).stdout;
          throw new Error(`the command still runs after ${timeoutMs} ms; on its terminal ${tty}:\n${ps}the screen:\n${capture()}`);
        }
        await sleep(100);
      }
    },
    stop() {
      tmux(['kill-server'], false);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
