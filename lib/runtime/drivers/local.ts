/**
 * The local driver: each workload is a child process on this machine, run by its own detached
 * supervisor (`livestack supervise`), so workloads outlive the command that created them and come
 * back with backoff when they die. Everything lives under the state directory:
 * `workloads/<name>/` (see local-records.ts) and `accounts/<account>/storage/` (the account storage).
 *
 * The driver remembers nothing between calls: `observe()` reads the records, pid files and process
 * table every time.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../util/package-root';
import { ENV, UPSTREAM_HOST_ENV } from '../../contract/workload-env';
import { WorkloadSpec } from '../../contract/workload-spec';
import { storagePaths } from '../../contract/storage-layout';
import {
  ProcessIdentity, findProcesses, groupAlive, identify, isAlive, signalGroup, signalProcess, waitUntil,
} from '../process-identity';
import { Driver, DriverContext, ObservedWorkload } from './driver';
import { resolveSecretEnv, withoutTerraformVariables } from './secret-env';
import { DEFAULT_TASK_TIMEOUT_MS, TaskFailedError } from './task-output';
import { writeControlFile } from './control-file';
import {
  WorkloadRecord, appendLog, localPaths, readRecord, readState, readSupervisorPid, writeRecord,
} from './local-records';

/** How long a freshly created workload may go without a claimed pid file before it counts as exited. */
const SUPERVISOR_START_GRACE_MS = 10_000;
const SUPERVISOR_STOP_GRACE_MS = 8_000;

export interface LocalDriverOptions {
  /** The compiled CLI that `livestack` in a command maps to; default `<package>/dist/lib/cli/main.js`. */
  readonly cliPath?: string;
}

/** PIDs of a local workload, for `status` and for tests that simulate crashes. */
export interface LocalProcesses {
  readonly supervisor?: number;
  readonly workload?: number;
}

export class LocalDriver implements Driver {
  readonly kind = 'local' as const;
  readonly stateDir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly cliPath: string;

  constructor(context: DriverContext, options: LocalDriverOptions = {}) {
    this.stateDir = path.resolve(context.stateDir);
    this.env = context.env ?? process.env;
    this.cliPath = options.cliPath ?? path.join(packageRoot(), 'dist', 'lib', 'cli', 'main.js');
  }

  async observe(): Promise<ObservedWorkload[]> {
    let names: string[];
    try {
      names = fs.readdirSync(localPaths.workloadsDir(this.stateDir)).sort();
    } catch {
      return [];
    }
    const observed: ObservedWorkload[] = [];
    for (const name of names) {
      const dir = localPaths.workloadDir(this.stateDir, name);
      const record = readRecord(dir);
      if (record) observed.push(this.observeOne(dir, record));
    }
    return observed;
  }

  private observeOne(dir: string, record: WorkloadRecord): ObservedWorkload {
    const base = {
      name: record.name, account: record.account, role: record.role, owner: record.owner,
      specHash: record.specHash, liveHash: record.liveHash,
    };
    const supervisor = readSupervisorPid(dir);
    const state = readState(dir);
    const restarts = state?.restarts ?? 0;
    if (!isAlive(supervisor)) {
      // A record without a supervisor is being started, unless its creator died first (a controller
      // killed mid-create): then nobody will start it and it must be replaced at once.
      const creatorGone = record.createdBy !== undefined && !isAlive(record.createdBy);
      const young = !supervisor && !creatorGone && Date.now() - Date.parse(record.createdAt) < SUPERVISOR_START_GRACE_MS;
      if (young) return { ...base, phase: 'starting', detail: 'supervisor starting', restarts };
      if (!supervisor && creatorGone) return { ...base, phase: 'exited', detail: 'its creator stopped before starting its supervisor', restarts };
      const last = state?.detail ? ` (last: ${state.detail})` : '';
      return { ...base, phase: 'exited', detail: `supervisor not running${last}`, restarts, startedAt: state?.startedAt };
    }
    if (!state) return { ...base, phase: 'starting', detail: 'supervisor starting', restarts };
    if (state.phase === 'running' && !isAlive(state.child)) {
      return { ...base, phase: 'starting', detail: 'process exited; the supervisor restarts it', restarts, startedAt: state.startedAt };
    }
    return { ...base, phase: state.phase, detail: state.detail, restarts, startedAt: state.startedAt };
  }

  async create(spec: WorkloadSpec): Promise<void> {
    // Resolve secrets before touching anything, so a missing variable leaves the running workload alone.
    const secrets = resolveSecretEnv(spec, this.env);
    const dir = localPaths.workloadDir(this.stateDir, spec.name);
    if (fs.existsSync(dir)) await this.delete(spec.name);
    const storage = await this.storageDir(spec.account);
    if (spec.liveConfig !== undefined) writeControlFile(storage, spec);
    const record: WorkloadRecord = {
      version: 1,
      name: spec.name,
      account: spec.account,
      role: spec.role,
      owner: spec.owner,
      specHash: spec.specHash,
      liveHash: spec.liveHash,
      createdAt: new Date().toISOString(),
      createdBy: identify(process.pid),
      argv: this.argv(spec.command),
      env: {
        ...spec.env,
        [ENV.storageDir]: storage,
        [ENV.listenHost]: spec.ports[0]?.hostIp ?? '127.0.0.1',
        [UPSTREAM_HOST_ENV]: '127.0.0.1',
      },
      cwd: dir,
      healthCheck: spec.healthCheck,
    };
    writeRecord(dir, record);
    const log = fs.openSync(localPaths.log(dir), 'a');
    try {
      const supervisor = spawn(process.execPath, [this.cliPath, 'supervise', dir], {
        cwd: dir,
        env: { ...withoutTerraformVariables(this.env), ...secrets },
        detached: true,
        stdio: ['ignore', log, log],
      });
      supervisor.unref();
    } finally {
      fs.closeSync(log);
    }
    const claimed = await waitUntil(() => isAlive(readSupervisorPid(dir)), SUPERVISOR_START_GRACE_MS, 20);
    if (!claimed) throw new Error(`workload ${spec.name}: its supervisor did not start within ${SUPERVISOR_START_GRACE_MS} ms (see ${localPaths.log(dir)})`);
  }

  async updateLive(spec: WorkloadSpec): Promise<void> {
    const dir = localPaths.workloadDir(this.stateDir, spec.name);
    const record = readRecord(dir);
    if (!record) throw new Error(`workload ${spec.name}: cannot deliver live config, the workload does not exist`);
    writeControlFile(await this.storageDir(spec.account), spec);
    // A later restart boots with the config it was last given, not the one it was created with.
    const env = { ...record.env };
    if (spec.liveConfig !== undefined) env[ENV.liveConfig] = JSON.stringify(spec.liveConfig);
    writeRecord(dir, { ...record, liveHash: spec.liveHash, env });
    appendLog(dir, `delivered live config ${spec.liveHash}`);
  }

  async runTask(spec: WorkloadSpec, command: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
    const storage = await this.storageDir(spec.account);
    const [program, ...args] = this.argv([...command]);
    const task = `${command.slice(1, 2).join('')} for ${spec.name}`;
    const child = spawn(program, args, {
      env: { ...withoutTerraformVariables(this.env), ...spec.env, [ENV.storageDir]: storage },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timeoutMs = options.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal }));
      });
      if (exit.code !== 0) throw new TaskFailedError(task, exit.signal === 'SIGKILL' ? `ran out of ${timeoutMs} ms` : `exited with ${exit.code ?? exit.signal}`, stderr);
      return stdout;
    } finally {
      clearTimeout(timer);
    }
  }

  async delete(name: string): Promise<void> {
    const dir = localPaths.workloadDir(this.stateDir, name);
    const record = readRecord(dir);
    const supervisors = new Map<number, ProcessIdentity | undefined>();
    const owner = readSupervisorPid(dir);
    if (owner && isAlive(owner)) supervisors.set(owner.pid, owner);
    for (const pid of findProcesses(['supervise', dir])) supervisors.set(pid, supervisors.get(pid));
    for (const pid of supervisors.keys()) signalProcess(pid, 'SIGTERM');
    const stopped = await waitUntil(
      () => [...supervisors].every(([pid, identity]) => !isAlive(identity ?? { pid })),
      SUPERVISOR_STOP_GRACE_MS,
    );
    if (!stopped) for (const pid of supervisors.keys()) signalProcess(pid, 'SIGKILL');
    const child = readState(dir)?.child;
    if (child && (isAlive(child) || groupAlive(child.pid))) {
      signalGroup(child.pid, 'SIGKILL');
      await waitUntil(() => !groupAlive(child.pid), 2_000);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    if (record) fs.rmSync(storagePaths.controlFile(localPaths.storageDir(this.stateDir, record.account), name), { force: true });
  }

  async logs(name: string, lines = 200): Promise<string> {
    const file = localPaths.log(localPaths.workloadDir(this.stateDir, name));
    let text: string;
    try {
      text = readTail(file, 1024 * 1024);
    } catch {
      const known = (await this.observe()).map((w) => w.name);
      throw new Error(`no local workload named ${name} under ${this.stateDir}${known.length ? ` (known: ${known.join(', ')})` : ''}`);
    }
    const all = text.split('\n');
    if (all[all.length - 1] === '') all.pop();
    return all.slice(-lines).join('\n');
  }

  async storageDir(account: string): Promise<string> {
    const dir = localPaths.storageDir(this.stateDir, account);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /** Supervisor and workload pids of a workload, as recorded and still alive. */
  processes(name: string): LocalProcesses {
    const dir = localPaths.workloadDir(this.stateDir, name);
    const supervisor = readSupervisorPid(dir);
    const child = readState(dir)?.child;
    return {
      supervisor: isAlive(supervisor) ? supervisor?.pid : undefined,
      workload: isAlive(child) ? child?.pid : undefined,
    };
  }

  async close(): Promise<void> {
    // Nothing held: supervisors are independent processes and keep running by design.
  }

  private argv(command: string[]): string[] {
    const [program, ...args] = command;
    return program === 'livestack' ? [process.execPath, this.cliPath, ...args] : [...command];
  }

}

function readTail(file: string, maxBytes: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    return length < size ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    fs.closeSync(fd);
  }
}
