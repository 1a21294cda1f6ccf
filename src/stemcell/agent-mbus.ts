// A client of the BOSH agent's HTTPS mbus, as bosh create-env talks to it: POST /agent with basic auth and
// {method, arguments, reply_to, protocol}; the answer is {value} or {exception: {message}}. The server's
// certificate is checked against the CA we made (and its IP SAN), never the system's trust store.
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MbusTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** PEM of the CA that signed the agent's certificate */
  ca: string;
}

/** The agent answered with an exception. */
export class AgentException extends Error {
  override name = 'AgentException';
}

/** The protocol bosh create-env speaks; with it `stop` waits for monit to stop the jobs. */
const protocol = 3;

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One mbus call; resolves with the value, rejects with AgentException or a transport error. */
export function mbusCall(target: MbusTarget, method: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
  const body = JSON.stringify({ method, arguments: args, reply_to: 'stemforge', protocol });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.host,
        port: target.port,
        method: 'POST',
        path: '/agent',
        ca: target.ca,
        auth: `${target.user}:${target.password}`,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        timeout: options.timeoutMs ?? 30_000,
        signal: options.signal,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new Error(`mbus ${method}: HTTP ${res.statusCode ?? '?'}${res.statusCode === 401 ? ' (the agent refused our credentials)' : ''}`));
            return;
          }
          let doc: { value?: unknown; exception?: { message?: string } };
          try {
            doc = JSON.parse(text) as typeof doc;
          } catch {
            reject(new Error(`mbus ${method}: not JSON: ${text.slice(0, 200)}`));
            return;
          }
          if (doc.exception) reject(new AgentException(`${method}: ${doc.exception.message ?? '(no message)'}`));
          else resolve(doc.value);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`mbus ${method}: no answer within ${Math.round((options.timeoutMs ?? 30_000) / 1000)} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface PingOptions {
  deadline: number;
  intervalMs?: number;
  signal?: AbortSignal;
  /** stop waiting early (e.g. QEMU exited) */
  giveUp?: () => boolean;
  /** after each failed attempt, with its error */
  onMiss?: (error: Error) => void;
}

/** Pings until the agent answers pong or the deadline passes; true on pong. */
export async function waitForPong(target: MbusTarget, options: PingOptions): Promise<boolean> {
  const interval = options.intervalMs ?? 3000;
  while (Date.now() < options.deadline && !options.signal?.aborted && !options.giveUp?.()) {
    const attempt = Date.now();
    try {
      if ((await mbusCall(target, 'ping', [], { timeoutMs: 8000, signal: options.signal })) === 'pong') return true;
    } catch (err) {
      options.onMiss?.(err as Error);
    }
    await sleep(Math.max(0, interval - (Date.now() - attempt)), undefined, { signal: options.signal }).catch(() => undefined);
  }
  return false;
}

interface TaskState {
  agent_task_id: string;
  state: string;
}

function isRunningTask(value: unknown): value is TaskState {
  const v = value as Partial<TaskState> | null;
  return typeof v === 'object' && v !== null && typeof v.agent_task_id === 'string' && v.state === 'running';
}

export interface TaskOptions extends CallOptions {
  /** give up on the task after this long */
  taskTimeoutMs: number;
  pollMs?: number;
}

/**
 * Calls `method`; when the agent runs it asynchronously ({agent_task_id, state: running}), polls get_task until
 * the task ends, and resolves with its value (or rejects with the task's exception).
 */
export async function runAgentTask(target: MbusTarget, method: string, args: unknown[], options: TaskOptions): Promise<unknown> {
  let value = await mbusCall(target, method, args, options);
  const deadline = Date.now() + options.taskTimeoutMs;
  while (isRunningTask(value)) {
    if (Date.now() >= deadline) throw new Error(`${method}: task ${value.agent_task_id} still running after ${Math.round(options.taskTimeoutMs / 1000)} s`);
    await sleep(options.pollMs ?? 1000, undefined, { signal: options.signal });
    value = await mbusCall(target, 'get_task', [value.agent_task_id], options);
  }
  return value;
}

export interface AgentProcess {
  name: string;
  state: string;
}

export interface AgentState {
  agent_id?: string;
  job_state?: string;
  processes?: AgentProcess[];
}

/** get_state, optionally ["full"] (with vitals). */
export async function getState(target: MbusTarget, full: boolean, options: CallOptions = {}): Promise<AgentState> {
  return (await mbusCall(target, 'get_state', full ? ['full'] : [], options)) as AgentState;
}
