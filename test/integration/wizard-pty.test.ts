// The `stemforge build` wizard as a user meets it: the real CLI in a real pseudo-terminal
// (tmux), driven with arrow keys, space, typed text and Enter, read back from the screen.
// Prompts are on stderr and the dry run's answer on stdout, both in the one terminal. The
// wizard asks only when stdin and stdout are terminals and CI is unset, and --json never asks,
// so these runs are `build --dry-run` (no "Build this?": the plan is printed once), or a
// build answered "no" at the end; the answers as JSON come from running the summary's
// "without questions" command line with --dry-run --json.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { buildEstimates as typical } from '../../src/catalog/build-estimates.js';
import { durationsFile, recordDurations } from '../../src/pipeline/stage-durations.js';
import { packageRoot } from '../../src/util/paths.js';
import { startPty, tmuxUnavailable, type Pty } from '../helpers/pty.js';

const cli = join(packageRoot, 'bin', 'stemforge.js');
const skip = tmuxUnavailable();
/** where the summary screen is kept for the team's report */
const captureFile = join(tmpdir(), 'sf', 'wizard-capture.txt');

interface Sandbox {
  dir: string;
  /** the environment of every stemforge run of the test: its own settings and cache, nothing from this shell */
  env: Record<string, string | undefined>;
  start(args: string[], env?: Record<string, string | undefined>): Pty;
  /** stemforge without a terminal (stdin /dev/null, stdout and stderr pipes) */
  run(args: string[], env?: Record<string, string | undefined>): { code: number | null; stdout: string; stderr: string };
}

function sandbox(t: TestContext): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'sf-wizard-'));
  mkdirSync(join(dir, 'home'));
  const env: Record<string, string | undefined> = {
    STEMFORGE_CONFIG_DIR: join(dir, 'config'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    // the recorded stage times are read from here: none unless a test writes some
    XDG_STATE_HOME: join(dir, 'state'),
    HOME: join(dir, 'home'),
    BUILD_TIME: undefined,
    NO_COLOR: undefined,
  };
  for (const name of Object.keys(process.env)) if (name.startsWith('STEMFORGE_') && !(name in env)) env[name] = undefined;
  const ptys: Pty[] = [];
  t.after(() => {
    for (const p of ptys) p.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    env,
    start(args, extra = {}) {
      const p = startPty([process.execPath, cli, ...args], { cwd: dir, env: { ...env, ...extra } });
      ptys.push(p);
      return p;
    },
    run(args, extra = {}) {
      const full: NodeJS.ProcessEnv = { ...process.env };
      for (const [k, v] of Object.entries({ ...env, ...extra })) {
        if (v === undefined) delete full[k];
        else full[k] = v;
      }
      const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, env: full, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

/** The choice under the cursor of the question being asked (its ❯ line), without the pointer and checkbox. */
function active(screen: string): string {
  const lines = screen.split('\n').filter((l) => l.startsWith('❯'));
  return (lines.at(-1) ?? '').replace(/^❯\s*[◯◉]?\s*/, '');
}

/**
 * Down until the choice under the cursor matches; undefined when it went round (or there is
 * one choice) without a match. Also checks the cursor never rests on a disabled choice.
 */
async function moveTo(pty: Pty, want: RegExp, visited: string[] = []): Promise<string | undefined> {
  let current = active(pty.capture());
  for (let step = 0; step < 20; step++) {
    assert.doesNotMatch(current, /not usable here|needs root|only on Linux/, 'the cursor rests only on enabled choices');
    visited.push(current);
    if (want.test(current)) return current;
    const before = current;
    pty.sendKeys('Down');
    const screen = await pty.waitFor((s) => active(s) !== before, 2_000).catch(() => undefined);
    if (screen === undefined) return undefined;
    current = active(screen);
    if (visited.includes(current)) return undefined;
  }
  return undefined;
}

async function choose(pty: Pty, want: RegExp): Promise<string> {
  const visited: string[] = [];
  const found = await moveTo(pty, want, visited);
  assert.ok(found, `no choice matching ${want} (went through ${visited.join(' | ')}); the screen:\n${pty.capture()}`);
  pty.sendKeys('Enter');
  return found;
}

/** The question being asked: a line "? message …" on the current screen. */
const asking = (message: string): RegExp => new RegExp(`^\\? ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm');

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The summary's estimate row. */
const estimateRow = /^ {2}estimate {10}about (\d+) min, [\d.]+ GB on the build machine, [\d.]+ GB here \((.*)\)$/m;

/** Enter at a question with a default, then wait until the question is answered (its ✔ line). */
async function acceptDefault(pty: Pty, message: string): Promise<void> {
  await pty.waitFor(asking(message));
  pty.sendKeys('Enter');
  await pty.waitFor(new RegExp(`^✔ ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
}

describe('the build wizard in a terminal', { skip, timeout: 120_000 }, () => {
  it('asks every question, explains each choice, and --dry-run prints the plan once without asking to build', async (t) => {
    const box = sandbox(t);
    const pty = box.start(['build', '--dry-run']);

    // infrastructure: a checkbox; the wizard appearing at all shows CI is unset in the terminal
    const first = await pty.waitFor(asking('Infrastructure(s) to build for'));
    // what a stemcell and an infrastructure are, and what to pick to try it here, above the choices
    assert.match(first, /^A stemcell is the base image BOSH boots every VM from, made for one infrastructure: the cloud or hypervisor/m);
    assert.match(first, /^To try it on this machine, pick openstack \(qcow2\): then `stemforge verify FILE --boot` boots it here under QEMU\.$/m);
    // one plain line beside each infrastructure; the one to try it with is marked
    assert.match(first, /^❯◯ aws +Amazon EC2: /m);
    assert.match(first, /^ ◯ warden +bosh-lite, BOSH on one machine/m);
    assert.match(first, /^ ◯ openstack +OpenStack or any KVM cloud: .* \(recommended to try it\)$/m);
    assert.doesNotMatch(first, /boshlite|esxi|xen-hvm/, 'no hypervisor jargon');
    assert.ok(await moveTo(pty, /^openstack /), pty.capture());
    pty.sendKeys('Space');
    await pty.waitFor(/^❯◉ openstack /m);
    pty.sendKeys('Enter');

    // openstack has two disk formats, qcow2 first: down to raw, round again to qcow2
    // the answer line names the choice alone
    await pty.waitFor(/^✔ Infrastructure\(s\) to build for \(space selects, enter confirms\) openstack$/m);
    await pty.waitFor(asking('Disk format for openstack'));
    assert.match(active(pty.capture()), /^qcow2 \(default\)/);
    pty.sendKeys('Down');
    await pty.waitFor((s) => active(s) === 'raw');
    await choose(pty, /^qcow2/);

    const osScreen = await pty.waitFor(asking('OS line'));
    assert.match(osScreen, /debian-bookworm +Debian 12 \(Bookworm\), /);
    assert.match(osScreen, /ubuntu-jammy +Ubuntu 22\.04 LTS \(Jammy\)/);
    await choose(pty, /^debian-bookworm /);
    await pty.waitFor(/^✔ OS line \(the Linux release inside the stemcell\) debian-bookworm$/m);

    await pty.waitFor(asking('Build machine'));
    await choose(pty, /^An SSH host/);
    await pty.waitFor(asking('SSH address'));
    pty.type('ssh://builder@127.0.0.1:2222');
    pty.sendKeys('Enter');
    await acceptDefault(pty, 'Private key file');

    // a fresh settings folder: the counter proposes the first version, and says what it is
    const versionScreen = await pty.waitFor(/^\? Stemcell version \(0\.1\)/m);
    assert.match(versionScreen, /^The version goes into the stemcell's file name and stemcell\.MF; stemforge counts/m);
    await acceptDefault(pty, 'Stemcell version');

    await pty.waitFor(asking('BOSH agent'));
    assert.match(active(pty.capture()), /^the pinned release/);
    await choose(pty, /^the pinned release/);

    await pty.waitFor(asking('Output folder'));
    pty.type('my-out');
    pty.sendKeys('Enter');

    assert.equal(await pty.waitForExit(), 0, pty.capture());
    const summaryScreen = pty.capture();
    mkdirSync(join(tmpdir(), 'sf'), { recursive: true });
    writeFileSync(captureFile, `${summaryScreen}\n`);
    t.diagnostic(`the whole run (also in ${captureFile}):`);
    for (const l of summaryScreen.split('\n')) t.diagnostic(l);
    // a dry run asks nothing more and prints the plan once
    assert.doesNotMatch(summaryScreen, /Build this\?/);
    assert.equal(summaryScreen.split('stemforge will build:').length - 1, 1, summaryScreen);
    assert.equal(summaryScreen.split('without questions').length - 1, 1, summaryScreen);
    assert.match(summaryScreen, /^✔ Output folder my-out$/m);
    assert.match(summaryScreen, /^ {2}infrastructure {4}openstack \(qcow2\)$/m);
    assert.match(summaryScreen, /^ {2}OS line {11}debian-bookworm$/m);
    assert.match(summaryScreen, /^ {2}build machine {5}ssh:\/\/builder@127\.0\.0\.1:2222$/m);
    assert.match(summaryScreen, /^ {2}stemcell version {2}0\.1$/m);
    assert.match(summaryScreen, /^ {2}agent {13}pinned /m);
    assert.match(summaryScreen, new RegExp(`^ {2}output folder {5}${escape(join(box.dir, 'my-out'))}$`, 'm'));
    // no build recorded in this sandbox: the catalog's figures, OS image + one disk stemcell, no VM
    const estimate = estimateRow.exec(summaryScreen);
    assert.ok(estimate, summaryScreen);
    const minutes = typical.osImage.stageMinutes + typical.osImage.overheadMinutes + typical.stemcell.diskStageMinutes + typical.stemcell.overheadMinutes;
    assert.equal(Number(estimate[1]), minutes);
    assert.match(estimate[2]!, /^typical figures/);
    const line = /^ {2}without questions (stemforge build .*)$/m.exec(summaryScreen)?.[1];
    assert.ok(line, summaryScreen);
    assert.equal(
      line,
      'stemforge build --yes --iaas openstack --os debian-bookworm --machine ssh://builder@127.0.0.1:2222 --version 0.1 --out my-out --disk-format qcow2',
    );

    // that command line, as JSON, holds the wizard's answers
    const argv = line.split(' ');
    const replay = box.run([...argv.slice(1), '--dry-run', '--json'], { CI: 'true' });
    assert.equal(replay.code, 0, replay.stderr);
    const plan = JSON.parse(replay.stdout) as { command: string; machine: string; answers: Record<string, unknown> };
    assert.equal(plan.command, 'build');
    assert.deepEqual(plan.answers.iaas, ['openstack']);
    assert.equal(plan.answers.diskFormat, 'qcow2');
    assert.equal(plan.answers.os, 'debian-bookworm');
    assert.equal(plan.answers.machine, 'ssh://builder@127.0.0.1:2222');
    assert.equal(plan.answers.identity, undefined);
    assert.equal(plan.answers.version, '0.1');
    assert.equal(plan.answers.outputDir, 'my-out');
    assert.deepEqual(plan.answers.agent, { kind: 'pinned' });
  });

  it('does not ask what flags answered; no at the end builds nothing', async (t) => {
    const box = sandbox(t);
    // not a dry run: the "no" below is what keeps it from building
    const pty = box.start(['build', '--iaas', 'warden', '--os', 'debian-bookworm']);

    const first = await pty.waitFor(/^\? /m);
    assert.match(first, asking('Build machine'), 'the first question is the build machine');
    assert.doesNotMatch(first, /Infrastructure|Disk format|OS line|A stemcell is/);
    // on Linux, Parallels and Hyper-V cannot exist: not listed at all; nothing listed disabled
    assert.doesNotMatch(first, /parallels|hyper-?v/i);
    assert.doesNotMatch(first, /not usable here/);
    // providers not installed here are at most one line of what to install
    assert.ok(first.split('\n').filter((l) => /^ (Install Vagrant with .* to build in a VM here|Also usable once installed: .*)$/.test(l)).length <= 1, first);

    // the first enabled choice that is a Vagrant VM or this machine; an SSH host only when neither is
    const visited: string[] = [];
    let picked = await moveTo(pty, /^(Vagrant VM|This machine)/, visited);
    if (!picked) picked = await moveTo(pty, /^An SSH host/);
    assert.ok(picked, `no enabled build machine (went through ${visited.join(' | ')})`);
    t.diagnostic(`build machine: ${picked}`);
    pty.sendKeys('Enter');
    if (picked.startsWith('An SSH host')) {
      await pty.waitFor(asking('SSH address'));
      pty.type('ssh://builder@127.0.0.1:2222');
      pty.sendKeys('Enter');
      await acceptDefault(pty, 'Private key file');
    }
    if (picked.startsWith('Vagrant VM')) {
      await acceptDefault(pty, 'Builder VM CPUs');
      await acceptDefault(pty, 'Builder VM memory (MiB)');
      await acceptDefault(pty, 'Builder VM disk (GiB)');
    }
    await acceptDefault(pty, 'Stemcell version');
    await acceptDefault(pty, 'BOSH agent');
    await acceptDefault(pty, 'Output folder');

    const summaryScreen = await pty.waitFor(asking('Build this?'));
    assert.match(summaryScreen, /^ {2}infrastructure {4}warden$/m);
    assert.match(summaryScreen, /^ {2}OS line {11}debian-bookworm$/m);
    // the estimate is the last line before the question
    const before = summaryScreen
      .slice(0, summaryScreen.search(asking('Build this?')))
      .trimEnd()
      .split('\n');
    assert.match(before.at(-1)!, estimateRow, summaryScreen);
    pty.type('n');
    pty.sendKeys('Enter');
    assert.equal(await pty.waitForExit(), 0, pty.capture());
    const screen = pty.capture();
    assert.match(screen, /^✔ Build this\? No$/m);
    assert.match(screen, /stemforge: nothing built \(you said no\)/);
    // stdout printed nothing: no JSON, and the summary only once (the one before the question)
    assert.doesNotMatch(screen, /^\{/m);
    assert.equal(screen.split('stemforge will build:').length - 1, 1, screen);
  });

  it("proposes the version after the counter's last one, and estimates from the last build's stage times", async (t) => {
    const box = sandbox(t);
    const set = box.run(['version', 'set', 'debian-bookworm', 'warden', '2.7']);
    assert.equal(set.code, 0, set.stderr);
    // a finished build recorded 10 min of OS-image stages and 3 of warden's (in the sandbox's state folder)
    const stage = (group: string, name: string, minutes: number) => ({
      group,
      stage: name,
      step: 'apply' as const,
      durationMs: minutes * 60_000,
      exitCode: 0,
      logPath: 'x',
    });
    recordDurations(
      'debian-bookworm',
      [stage('debian-bookworm', 'base_debootstrap', 10), stage('warden', 'base_warden', 3)],
      durationsFile(join(box.dir, 'state', 'stemforge')),
    );

    const pty = box.start(['build', '--dry-run', '--iaas', 'warden', '--os', 'debian-bookworm', '--machine', 'local']);
    const screen = await pty.waitFor(asking('Stemcell version'));
    assert.match(screen, /^\? Stemcell version \(2\.8\)/m);
    await acceptDefault(pty, 'Stemcell version');
    await acceptDefault(pty, 'BOSH agent');
    await acceptDefault(pty, 'Output folder');
    assert.equal(await pty.waitForExit(), 0, pty.capture());
    const summaryScreen = pty.capture();
    assert.match(summaryScreen, /^ {2}stemcell version {2}2\.8$/m);
    const estimate = estimateRow.exec(summaryScreen);
    assert.ok(estimate, summaryScreen);
    assert.equal(Number(estimate[1]), 10 + typical.osImage.overheadMinutes + 3 + typical.stemcell.overheadMinutes);
    assert.equal(estimate[2], "from this host's last builds");
  });

  it('asks again for a ~/ path that is not there, warns about a VM bigger than the host, refuses too little memory', async (t) => {
    const box = sandbox(t);
    const home = join(box.dir, 'home');
    const pty = box.start(['build', '--dry-run', '--iaas', 'warden', '--os', 'debian-bookworm', '--machine', 'vagrant:virtualbox']);

    await pty.waitFor(asking('Builder VM CPUs'));
    pty.type('4096');
    pty.sendKeys('Enter');
    await pty.waitFor(/at most 256 CPUs; type a smaller number/);
    assert.doesNotMatch(pty.capture(), /^✔ Builder VM CPUs/m, 'refused, still asking');
    pty.sendKeys('BSpace', 'BSpace', 'BSpace', 'BSpace');
    pty.type('256');
    pty.sendKeys('Enter');
    await pty.waitFor(/^warning: 256 CPUs is more than this machine's \d+; the VM runs/m);

    await pty.waitFor(asking('Builder VM memory (MiB)'));
    pty.type('1024');
    pty.sendKeys('Enter');
    await pty.waitFor(/at least 2048 MiB: debootstrap and the kernel's initramfs need it; type 2048 or more/);
    assert.doesNotMatch(pty.capture(), /^✔ Builder VM memory/m, 'refused, still asking');
    pty.sendKeys('BSpace', 'BSpace', 'BSpace', 'BSpace');
    pty.type('4096');
    pty.sendKeys('Enter');
    await acceptDefault(pty, 'Builder VM disk (GiB)');
    await acceptDefault(pty, 'Stemcell version');

    await pty.waitFor(asking('BOSH agent'));
    await choose(pty, /^a binary on this machine/);
    await pty.waitFor(asking('Agent binary'));
    pty.type('~/bosh-agent');
    pty.sendKeys('Enter');
    const agent = join(home, 'bosh-agent');
    // the prompt breaks long lines itself: compare with the line breaks as spaces
    await pty.waitFor((screen) =>
      screen.replace(/\s+/g, ' ').includes(`> no such file: ${agent}; give the path of a bosh-agent binary, or choose the pinned release`),
    );
    assert.doesNotMatch(pty.capture(), /^✔ Agent binary/m, 'asked again at the question');
    // the file appears; the same answer is taken now
    writeFileSync(agent, '#!/bin/sh\n');
    chmodSync(agent, 0o755);
    pty.sendKeys('Enter');
    await pty.waitFor(/^✔ Agent binary ~\/bosh-agent$/m);

    await pty.waitFor(asking('Output folder'));
    pty.type('~/stemcells');
    pty.sendKeys('Enter');
    assert.equal(await pty.waitForExit(), 0, pty.capture());
    const screen = pty.capture();
    assert.match(screen, new RegExp(`^ {2}agent {13}local file ${escape(agent)}$`, 'm'));
    assert.match(screen, new RegExp(`^ {2}output folder {5}${escape(join(home, 'stemcells'))}$`, 'm'));
    assert.match(screen, new RegExp(`--agent-file ${escape(agent)}`));
  });

  it('a --identity file that does not exist is an error before any question (exit 2)', async (t) => {
    const box = sandbox(t);
    const pty = box.start(['build', '--dry-run', '--machine', 'ssh://builder@127.0.0.1:2222', '--identity', '~/.ssh/none']);
    assert.equal(await pty.waitForExit(), 2, pty.capture());
    const screen = pty.capture();
    assert.match(screen, new RegExp(`--identity: no such file: ${escape(join(box.dir, 'home', '.ssh', 'none'))}; give the SSH private key file`));
    assert.doesNotMatch(screen, /^\? /m);
  });

  it('Ctrl-C at a question ends with 130 and builds nothing', async (t) => {
    const box = sandbox(t);
    const pty = box.start(['build', '--dry-run']);
    await pty.waitFor(asking('Infrastructure(s) to build for'));
    pty.sendKeys('C-c');
    assert.equal(await pty.waitForExit(), 130, pty.capture());
    const screen = pty.capture();
    assert.match(screen, /stemforge: interrupted; nothing was built/);
    assert.doesNotMatch(screen, /stemforge will build:/);
  });

  it('build --help ends with the plain line of every infrastructure and OS line', (t) => {
    const help = sandbox(t).run(['build', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Infrastructures \(--iaas\):\n {2}aws +Amazon EC2: /m);
    assert.match(help.stdout, /^ {2}openstack +OpenStack or any KVM cloud: .* \(recommended to try it\)$/m);
    assert.match(help.stdout, /^OS lines \(--os\):\n {2}ubuntu-jammy +Ubuntu 22\.04 LTS/m);
  });

  it('without a terminal, or in CI, it asks nothing and names the missing flag', async (t) => {
    const box = sandbox(t);
    const piped = box.run(['build', '--dry-run'], { CI: undefined });
    assert.equal(piped.code, 2, piped.stderr);
    assert.match(piped.stderr, /missing --iaas/);
    assert.match(piped.stderr, /STEMFORGE_IAAS/);
    assert.equal(piped.stdout, '');

    // a terminal at both ends, but CI is set
    const pty = box.start(['build', '--dry-run'], { CI: '1' });
    assert.equal(await pty.waitForExit(), 2, pty.capture());
    const screen = pty.capture();
    assert.match(screen, /missing --iaas \(or set STEMFORGE_IAAS/);
    assert.doesNotMatch(screen, /^\? /m);
  });
});
