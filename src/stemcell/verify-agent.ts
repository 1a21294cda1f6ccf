// `stemforge verify FILE --agent`: boots the stemcell under QEMU as `verify --boot` does, hands the guest its
// infrastructure's settings source (a config drive, or a metadata service reached through a relay) with
// settings made here, and then drives the real BOSH agent over its HTTPS mbus as bosh create-env does:
// ping, get_state, ssh setup, a test job under monit, start and stop.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HintedError, UsageError } from '../util/errors.js';
import { getState, mbusCall, runAgentTask, waitForPong, type AgentState, type MbusTarget } from './agent-mbus.js';
import { agentSettingsDocument, mbusPort, mbusUser, newIdentity, randomMac, randomPassword, userData } from './agent-settings-doc.js';
import { agentLogTail, installTestJob, jobName, jobPid, monitReload, monitSummaryLine, pidAlive } from './agent-test-job.js';
import { exitGuard, keepConsoleLog, prepareBoot, qemuBaseArgs, qemuSandbox, requireQemu, startQemuWithPorts, tail, type PreparedBoot } from './boot-prep.js';
import { makeConfigDrive } from './config-drive.js';
import { connectGuest, consoleHostKeys, loginKeyPair, type GuestSsh } from './guest-ssh.js';
import { makeMbusCerts, sha512Crypt } from './mbus-certs.js';
import { relayCommand, writeRelay } from './metadata-relay.js';
import { startMetadataServer, type MetadataRequest, type MetadataServer } from './metadata-server.js';
import { hasCommand, qemuEscape, stopProcess, type QemuProcess } from './qemu.js';
import { describeSource, describeVerifiable, verifiability, type ServedSource, type Verifiability } from './settings-sources.js';
import { fingerprint } from '../machine/host-keys.js';

export interface VerifyAgentRequest {
  file: string;
  /** how long to wait for the agent's pong, from QEMU's start */
  timeoutMs: number;
  consoleLog?: string;
  memoryMiB?: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export interface AgentStep {
  name: string;
  ok: boolean;
  /** seconds since QEMU started (0 before it) */
  seconds: number;
  detail?: string;
}

export interface VerifyAgentResult {
  ok: boolean;
  file: string;
  name: string;
  version: string;
  infrastructure: string;
  diskFormat: string;
  accel: 'kvm' | 'tcg';
  settingsSource: string;
  steps: AgentStep[];
  metadataRequests?: MetadataRequest[];
  consoleLog?: string;
  consoleTail?: string[];
  agentErrors?: string[];
  error?: string;
  interrupted?: boolean;
}

const consoleTailLines = 40;
// Without an ephemeral disk the agent puts swap and /var/vcap/data on the root disk after the root partition and
// needs at least 1 GiB there; a cloud's root disk is bigger than the image (flavor, root_disk), so ours is too.
const rootDiskRoom = 4 * 1024 ** 3;

/** A step that failed: its name and why. */
class StepFailure extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}

/** Commands this run needs beyond QEMU, by settings source. */
async function requireTools(source: ServedSource): Promise<void> {
  const needed: [string, string][] = [['openssl', 'openssl']];
  if (source.type === 'ConfigDrive') needed.push(['mkfs.vfat', 'dosfstools'], ['mcopy', 'mtools']);
  for (const [command, pkg] of needed) {
    if (!(await hasCommand(command))) throw new HintedError(`${command} is not installed`, `install it: apt-get install ${pkg}`);
  }
}

function refuse(v: Verifiability & { verifiable: false }, diskFormat: string | undefined): UsageError {
  return new UsageError(
    `verify --agent cannot verify this ${v.infrastructure} stemcell (disk_format ${diskFormat ?? '(none)'}): ${v.reason}. ` +
      `It verifies ${describeVerifiable()} stemcells; verify --boot boots raw, rawdisk, qcow2 and ovf ones`,
  );
}

interface Run {
  request: VerifyAgentRequest;
  dir: string;
  progress: (line: string) => void;
  state: { qemu?: QemuProcess; dir?: string };
  result: VerifyAgentResult;
  /** QEMU's start, ms */
  started: number;
  consoleLog: string;
  consoleText: string;
  metadata?: MetadataServer;
  ssh?: GuestSsh;
}

const seconds = (run: Run): number => (run.started ? round((Date.now() - run.started) / 1000) : 0);

/** Runs one step: records it with its time, prints it, and turns a failure into a StepFailure. */
async function step<T>(run: Run, name: string, body: () => Promise<{ value: T; detail: string }>): Promise<T> {
  try {
    if (run.request.signal?.aborted) throw new Error('interrupted');
    const { value, detail } = await body();
    run.result.steps.push({ name, ok: true, seconds: seconds(run), detail });
    run.progress(`[${seconds(run).toFixed(1).padStart(6)} s] ${name}: ${detail}`);
    return value;
  } catch (err) {
    const message = run.request.signal?.aborted ? 'interrupted' : (err as Error).message;
    run.result.steps.push({ name, ok: false, seconds: seconds(run), detail: message });
    run.progress(`[${seconds(run).toFixed(1).padStart(6)} s] ${name} FAILED: ${message}`);
    throw new StepFailure(name, message);
  }
}

async function readConsole(run: Run): Promise<string> {
  run.consoleText = await readFile(run.consoleLog, 'latin1').catch(() => run.consoleText);
  return run.consoleText;
}

/** Polls `check` every `everyMs` until it returns a value or `timeoutMs` passes; then throws with `what`. */
async function until<T>(run: Run, timeoutMs: number, everyMs: number, what: () => string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`${what()} (after ${Math.round(timeoutMs / 1000)} s)`);
    await sleep(everyMs, undefined, { signal: run.request.signal });
  }
}

export async function verifyAgent(request: VerifyAgentRequest): Promise<VerifyAgentResult> {
  const progress = request.onProgress ?? (() => undefined);
  const { signal } = request;
  await requireQemu();
  const state: { qemu?: QemuProcess; dir?: string } = {};
  const unguard = exitGuard(state);
  const dir = await mkdtemp(join(tmpdir(), 'stemforge-agent-'));
  state.dir = dir;
  let run: Run | undefined;
  try {
    let plan: Verifiability | undefined;
    const prepared = await prepareBoot(request.file, dir, {
      signal,
      progress,
      growBytes: rootDiskRoom,
      accept: (inspection) => {
        plan = verifiability(inspection.infrastructure);
        if (!plan.verifiable) throw refuse(plan, inspection.diskFormat);
      },
    });
    if (!plan?.verifiable) throw new Error('no settings source was chosen');
    await requireTools(plan.source);
    const consoleLog = request.consoleLog ? resolve(request.consoleLog) : join(dir, 'console.log');
    if (request.consoleLog) await mkdir(dirname(consoleLog), { recursive: true });
    const { inspection } = prepared;
    run = {
      request,
      dir,
      progress,
      state,
      consoleLog,
      consoleText: '',
      started: 0,
      result: {
        ok: false,
        file: request.file,
        name: inspection.name,
        version: inspection.version,
        infrastructure: plan.infrastructure,
        diskFormat: prepared.diskFormat,
        accel: prepared.accel,
        settingsSource: describeSource(plan.source),
        steps: [],
      },
    };
    try {
      await verifySteps(run, plan, prepared);
      run.result.ok = true;
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      run.result.error = signal?.aborted ? 'interrupted' : `${err.step}: ${err.message}`;
      if (signal?.aborted) run.result.interrupted = true;
      await collectFailure(run);
    }
    if (run.metadata) run.result.metadataRequests = run.metadata.requests;
    if (!run.result.ok || request.consoleLog) run.result.consoleLog = await keepConsoleLog(consoleLog, request.consoleLog, 'agent');
    return run.result;
  } finally {
    run?.ssh?.close();
    if (state.qemu) await stopProcess(state.qemu.child);
    await run?.metadata?.close();
    await rm(dir, { recursive: true, force: true });
    state.dir = undefined;
    unguard();
  }
}

/** What went wrong, from the console and (when SSH works) from the agent's own log. */
async function collectFailure(run: Run): Promise<void> {
  const text = await readConsole(run);
  run.result.consoleTail = tail(text, consoleTailLines);
  // systemd's failed units, and whatever the agent's unit or the agent itself said went wrong
  const errors = tail(text, 100_000)
    .filter((l) => /\[FAILED\]|\bERROR\b|bosh-agent.*(fail|error|exit|status=)/.test(l))
    .slice(-30);
  if (run.ssh && !run.request.signal?.aborted) {
    const log = await agentLogTail(run.ssh).catch(() => []);
    errors.push(...log.filter((l) => /ERROR|WARN|error/.test(l)).slice(-30));
  }
  if (errors.length) run.result.agentErrors = errors;
}

/** The settings document, its certificates, and the source that carries it to the guest. */
async function makeSettings(run: Run, plan: Verifiability & { verifiable: true }) {
  const certs = await makeMbusCerts(run.dir, ['127.0.0.1', plan.network.ip]);
  const mbusPassword = randomPassword();
  const identity = newIdentity();
  const mac = randomMac();
  const settings = agentSettingsDocument({
    ...identity,
    mbusPassword,
    certs,
    passwordHash: await sha512Crypt(randomPassword()),
    network: plan.network,
    mac,
  });
  const source = plan.source;
  const qemu: { netdevExtra: string; drives: string[]; spawn: boolean } = { netdevExtra: '', drives: [], spawn: false };
  if (source.type === 'ConfigDrive') {
    const image = join(run.dir, 'config-drive.img');
    await makeConfigDrive(image, source.label, join(run.dir, 'config-drive'), {
      [source.metaDataPath]: JSON.stringify({ 'instance-id': identity.vmName, hostname: identity.vmName }),
      [source.userDataPath]: JSON.stringify(userData(settings)),
    });
    qemu.drives.push('-drive', `file=${qemuEscape(image)},format=raw,if=virtio,readonly=on`);
  } else {
    const body = source.type === 'HTTP' ? userData(settings) : settings;
    const content = { userData: JSON.stringify(body), instanceId: identity.vmName, vmName: identity.vmName };
    // each request as it comes: when the agent never gets its settings, these say how far it got
    const onRequest = (r: MetadataRequest): void => run.progress(`[${r.seconds.toFixed(1).padStart(6)} s] metadata: ${r.method} ${r.path} → ${r.status}`);
    run.metadata = await startMetadataServer(source, content, () => seconds(run), onRequest);
    const relay = await writeRelay(run.dir);
    qemu.netdevExtra = `,guestfwd=tcp:${source.address}:${source.port}-cmd:${qemuEscape(relayCommand(relay, run.metadata.port))}`;
    qemu.spawn = true;
  }
  const target = (port: number): MbusTarget => ({ host: '127.0.0.1', port, user: mbusUser, password: mbusPassword, ca: certs.ca });
  const { network } = plan;
  const detail =
    `agent_id ${identity.agentId}, manual network ${network.ip} netmask ${network.netmask} gw ${network.gateway} dns ${network.dns}, ` +
    `mac ${mac}; ${describeSource(source)}${run.metadata ? ` (served from 127.0.0.1:${run.metadata.port})` : ''}`;
  return { settings, qemu, target, detail, mac };
}

async function verifySteps(run: Run, plan: Verifiability & { verifiable: true }, prepared: PreparedBoot): Promise<void> {
  const { request } = run;
  const { signal } = request;
  const made = await step(run, 'settings', async () => {
    const value = await makeSettings(run, plan);
    return { value, detail: value.detail };
  });
  const { settings, qemu: extra, mac } = made;

  // --- boot
  // host, dns and dhcpstart are named: QEMU derives its defaults as net + 0.0.2.2 (.3, .15), which is .2 only on a /24
  const { network } = plan;
  const netdev = (ports: number[]): string =>
    `user,id=n,restrict=on,net=${network.net},host=${network.gateway},dns=${network.dns},` +
    `dhcpstart=${network.ip},hostfwd=tcp:127.0.0.1:${ports[0]}-${network.ip}:${mbusPort},hostfwd=tcp:127.0.0.1:${ports[1]}-${network.ip}:22` +
    extra.netdevExtra;
  const started = await startQemuWithPorts(
    2,
    (ports) => [
      ...qemuBaseArgs({
        name: 'stemforge-verify-agent',
        boot: prepared,
        memoryMiB: request.memoryMiB ?? 1024,
        consoleLog: run.consoleLog,
        sandbox: qemuSandbox(extra.spawn),
      }),
      ...extra.drives,
      '-netdev',
      netdev(ports),
      '-device',
      `virtio-net-pci,netdev=n,mac=${mac}`,
    ],
    (q) => (run.state.qemu = q),
  );
  run.started = started.started;
  const { qemu } = started;
  const [mbusHostPort = 0, sshPort = 0] = started.ports;
  const target = made.target(mbusHostPort);
  await step(run, 'boot', async () => {
    if (qemu.exited()) throw new Error(`QEMU exited at once: ${qemu.stderr().trim().split('\n').slice(-3).join(' | ')}`);
    run.progress(`console ${run.consoleLog}`);
    return { value: undefined, detail: `QEMU pid ${qemu.pid}; mbus on 127.0.0.1:${mbusHostPort}, ssh on 127.0.0.1:${sshPort}` };
  });

  // --- the agent answers
  const qemuGone = (): string | undefined => {
    const exit = qemu.exited();
    return exit ? `QEMU exited (${exit.signal ?? `code ${exit.code}`}): ${qemu.stderr().trim().split('\n').slice(-3).join(' | ')}` : undefined;
  };
  await step(run, 'ping', async () => {
    let lastReport = Date.now();
    let lastMiss = '';
    let served = false;
    const ok = await waitForPong(target, {
      deadline: run.started + request.timeoutMs,
      signal,
      giveUp: () => !!qemuGone(),
      onMiss: (err) => {
        lastMiss = err.message;
        const at = run.metadata?.settingsServedAt();
        if (!served && at !== undefined) {
          served = true;
          run.progress(`[${at.toFixed(1).padStart(6)} s] the agent fetched its settings from the metadata service`);
        }
        if (Date.now() - lastReport >= 30_000) {
          lastReport = Date.now();
          void readConsole(run).then((text) => {
            const last = (tail(text, 1)[0] ?? '(no console output yet)').slice(0, 120);
            run.progress(`still waiting for the agent (${Math.round(seconds(run))} s): ${last}`);
          });
        }
      },
    });
    if (!ok) {
      const gone = qemuGone();
      if (gone) throw new Error(gone);
      const never = run.metadata && run.metadata.settingsServedAt() === undefined ? '; the agent never fetched its settings from the metadata service' : '';
      throw new Error(`no pong within ${Math.round(request.timeoutMs / 1000)} s (last: ${lastMiss || 'no answer'})${never}`);
    }
    const at = run.metadata?.settingsServedAt();
    if (at !== undefined) run.result.steps.push({ name: 'settings served', ok: true, seconds: at, detail: `the agent fetched them from the metadata service` });
    return { value: undefined, detail: `pong after ${seconds(run)} s` };
  });

  const call = { timeoutMs: 60_000, signal };
  await step(run, 'get_state', async () => {
    const s: AgentState = await getState(target, false, call);
    if (s.agent_id !== settings.agent_id) throw new Error(`agent_id is ${String(s.agent_id)}, not the ${settings.agent_id} of our settings`);
    return { value: s, detail: `agent_id ${s.agent_id}, job_state ${String(s.job_state)}` };
  });

  // --- the agent's ssh action, then a login with the key it installed
  const user = `sf_verify_${randomPassword().slice(0, 6)}`;
  const keys = loginKeyPair();
  const setup = await step(run, 'ssh setup', async () => {
    const value = (await runAgentTask(target, 'ssh', ['setup', { user, public_key: keys.public }], { ...call, taskTimeoutMs: 120_000 })) as {
      status?: string;
      ip?: string;
      host_public_key?: string;
    };
    if (value?.status !== 'success') throw new Error(`the agent answered ${JSON.stringify(value)}`);
    return { value, detail: `user ${user} created, default ip ${String(value.ip)}` };
  });

  run.ssh = await step(run, 'ssh login', async () => {
    const printed = consoleHostKeys(await readConsole(run));
    const target = { port: sshPort, user, privateKey: keys.private, fingerprints: printed.map((k) => k.fingerprint) };
    // a refused host key is final; a connection that drops (sshd restarting, the network being applied) is tried again
    let ssh: GuestSsh | undefined;
    for (let attempt = 1; !ssh; attempt++) {
      ssh = await connectGuest(target).catch(async (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        if (attempt >= 12 || /refusing|no stemforge-ssh-host-key/.test(message)) throw err;
        run.progress(`ssh to 127.0.0.1:${sshPort} failed (${message}); trying again in 5 s`);
        await sleep(5000, undefined, { signal });
        return undefined;
      });
    }
    const agentKey = setup.host_public_key?.trim().split(/\s+/)[1];
    const cross = agentKey
      ? printed.some((k) => k.fingerprint === fingerprint(Buffer.from(agentKey, 'base64')))
        ? "; the agent's host_public_key is one of them too"
        : "; NOTE: the agent's host_public_key is not among them"
      : '';
    return { value: ssh, detail: `as ${user}; host key ${ssh.hostKey.type} ${ssh.hostKey.fingerprint} is one the console printed${cross}` };
  });
  const ssh = run.ssh;

  // --- a job for monit, started and stopped by the agent
  await step(run, 'job installed', async () => {
    await installTestJob(ssh);
    await monitReload(ssh);
    let last = '';
    const line = await until(
      run,
      90_000,
      2000,
      () => `monit summary does not list ${jobName}: ${last}`,
      async () => {
        const summary = await monitSummaryLine(ssh);
        last = summary.output.split('\n').slice(-3).join(' | ');
        return summary.line;
      },
    );
    return { value: undefined, detail: `monit summary: ${line}` };
  });

  await step(run, 'start', async () => {
    const value = await runAgentTask(target, 'start', [], { ...call, timeoutMs: 300_000, taskTimeoutMs: 300_000 });
    if (value !== 'started') throw new Error(`start answered ${JSON.stringify(value)}`);
    return { value: undefined, detail: 'the agent answered started' };
  });

  let pid: number | undefined;
  await step(run, 'running', async () => {
    let last: AgentState = {};
    await until(
      run,
      120_000,
      2000,
      () => `get_state full shows ${describeJob(last)}`,
      async () => {
        last = await getState(target, true, call);
        return last.job_state === 'running' && jobProcess(last)?.state === 'running' ? true : undefined;
      },
    );
    const p = await jobPid(ssh);
    if (!p.alive) throw new Error(`get_state says running, but the pid in the pidfile (${String(p.pid)}) is not alive`);
    pid = p.pid;
    return { value: undefined, detail: `${describeJob(last)}; pid ${String(pid)} alive` };
  });

  await step(run, 'stop', async () => {
    const value = await runAgentTask(target, 'stop', [], { ...call, taskTimeoutMs: 360_000 });
    if (value !== 'stopped') throw new Error(`stop answered ${JSON.stringify(value)}`);
    return { value: undefined, detail: 'the stop task ended: stopped' };
  });

  await step(run, 'stopped', async () => {
    let last: AgentState = {};
    await until(
      run,
      60_000,
      2000,
      () => `get_state full shows ${describeJob(last)}`,
      async () => {
        last = await getState(target, true, call);
        return last.job_state !== 'running' && jobProcess(last)?.state !== 'running' ? true : undefined;
      },
    );
    if (pid !== undefined && (await pidAlive(ssh, pid))) throw new Error(`get_state says stopped, but pid ${pid} is still alive`);
    return { value: undefined, detail: `${describeJob(last)}; pid ${String(pid)} gone` };
  });
  // a last ping: the agent is still there after all this
  await mbusCall(target, 'ping', [], call).catch(() => undefined);
}

function jobProcess(state: AgentState): { name: string; state: string } | undefined {
  return state.processes?.find((p) => p.name === jobName);
}

function describeJob(state: AgentState): string {
  const p = jobProcess(state);
  return `job_state ${String(state.job_state)}, process ${jobName} ${p ? p.state : 'not listed'}`;
}

/** The human report. */
export function formatAgentResult(result: VerifyAgentResult): string {
  const lines = [
    `stemcell      ${result.name} ${result.version} (${result.infrastructure}, ${result.diskFormat})`,
    `accelerator   ${result.accel}`,
    `settings      ${result.settingsSource}`,
    ...result.steps.map((s) => `${s.ok ? 'ok  ' : 'FAIL'}  ${s.seconds.toFixed(1).padStart(6)} s  ${s.name.padEnd(14)} ${s.detail ?? ''}`),
  ];
  const requests = result.metadataRequests ?? [];
  if (requests.length) {
    const counted = new Map<string, number>();
    for (const r of requests) counted.set(`${r.method} ${r.path} ${r.status}`, (counted.get(`${r.method} ${r.path} ${r.status}`) ?? 0) + 1);
    lines.push(`metadata      ${[...counted].map(([k, n]) => `${k}${n > 1 ? ` ×${n}` : ''}`).join('; ')}`);
  }
  if (result.ok) {
    const at = (name: string): string => String(result.steps.find((s) => s.name === name)?.seconds ?? '?');
    lines.push(`ok: the agent answered after ${at('ping')} s and ran a job by ${at('running')} s`);
    if (result.consoleLog) lines.push(`console log   ${result.consoleLog}`);
    return lines.join('\n');
  }
  lines.push(`FAIL: ${result.error ?? 'failed'}`);
  if (result.agentErrors?.length) lines.push('--- agent errors ---', ...result.agentErrors, '---');
  if (result.consoleLog) lines.push(`console log   ${result.consoleLog}`);
  if (result.consoleTail?.length) lines.push(`--- last ${result.consoleTail.length} lines of the console ---`, ...result.consoleTail, '---');
  return lines.join('\n');
}
