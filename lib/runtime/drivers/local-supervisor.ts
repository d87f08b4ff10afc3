/**
 * The per-workload supervisor of the local driver (`livestack supervise <dir>`, started detached so
 * workloads outlive the `livestack apply` that created them). It owns one workload folder: it claims
 * `supervisor.pid`, runs the child in its own process group, probes its health URL, restarts it with
 * backoff when it exits or stays unhealthy, and reports what it sees in `state.json`.
 *
 * It fences itself: when its pid file is gone or names another process (the driver deleted or
 * replaced the workload), it stops its child and exits, so a stray supervisor never lingers.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { errorMessage } from '../errors';
import {
  ProcessIdentity, formatIdentity, identify, isAlive, signalGroup, waitUntil,
} from '../process-identity';
import { WorkloadPhase } from './driver';
import {
  SupervisorState, WorkloadRecord, appendLog, localPaths, readRecord, readState, readSupervisorPid, writeState,
} from './local-records';

/** Restart backoff of a crashing child: fast first retry (repair time), doubling up to the cap. */
export const RESTART_BACKOFF = { initialMs: 100, maxMs: 10_000, resetAfterMs: 10_000 };
const FENCE_CHECK_MS = 500;
const STARTING_PROBE_MS = 200;
const STOP_GRACE_MS = 5_000;
const MAX_LOG_BYTES = 20 * 1024 * 1024;

export class Supervisor {
  private readonly self: ProcessIdentity;
  private child?: ChildProcess;
  private childIdentity?: ProcessIdentity;
  private stopping = false;
  private restarts = 0;
  private consecutiveFailures = 0;
  private phase: WorkloadPhase = 'starting';
  private detail?: string;
  private startedAt?: string;
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly dir: string) {
    this.self = identify(process.pid) ?? { pid: process.pid };
  }

  /** Supervise until stopped (SIGTERM/SIGINT) or fenced off; resolves when the child is gone. */
  async run(): Promise<void> {
    if (!this.claim()) return;
    const stop = () => this.requestStop('stop requested');
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    const fence = setInterval(() => {
      if (!this.ownsFolder()) this.requestStop('supervisor fenced off: the workload was deleted or taken over');
    }, FENCE_CHECK_MS);
    try {
      this.killLeftoverChild();
      while (!this.stopping) {
        const record = readRecord(this.dir);
        if (!record) break;
        await this.runChildOnce(record);
        if (this.stopping) break;
        await this.backoff();
      }
    } finally {
      clearInterval(fence);
      await this.stopChild();
      this.report('exited', 'supervisor stopped');
      if (this.ownsFolder()) fs.rmSync(localPaths.pidFile(this.dir), { force: true });
    }
  }

  /** Take `supervisor.pid` with O_EXCL; a stale one (dead process) is replaced, a live one wins. */
  private claim(): boolean {
    const pidFile = localPaths.pidFile(this.dir);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.writeFileSync(pidFile, formatIdentity(this.self), { flag: 'wx' });
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      }
      const owner = readSupervisorPid(this.dir);
      if (owner && isAlive(owner)) return false;
      fs.rmSync(pidFile, { force: true });
    }
    return false;
  }

  private ownsFolder(): boolean {
    const owner = readSupervisorPid(this.dir);
    return owner?.pid === this.self.pid && owner.startTime === this.self.startTime && fs.existsSync(localPaths.record(this.dir));
  }

  /** A child of a supervisor that was killed -9 may still hold the workload's ports. */
  private killLeftoverChild(): void {
    const previous = readState(this.dir)?.child;
    if (previous && isAlive(previous)) {
      appendLog(this.dir, `killed leftover process ${previous.pid} of a previous supervisor`);
      signalGroup(previous.pid, 'SIGKILL');
    }
  }

  private requestStop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    appendLog(this.dir, reason);
    for (const wake of [...this.sleepers]) wake();
  }

  private async runChildOnce(record: WorkloadRecord): Promise<void> {
    this.rotateLog();
    const log = fs.openSync(localPaths.log(this.dir), 'a');
    const [command, ...args] = record.argv;
    let exited = false;
    let exitDetail = '';
    try {
      this.child = spawn(command, args, {
        cwd: record.cwd,
        env: { ...process.env, ...record.env },
        detached: true,
        stdio: ['ignore', log, log],
      });
    } finally {
      fs.closeSync(log);
    }
    const child = this.child;
    const exit = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        exited = true;
        exitDetail = `could not start ${command}: ${error.message}`;
        resolve();
      });
      child.once('exit', (code, signal) => {
        exited = true;
        exitDetail = signal ? `killed by ${signal}` : `exit code ${code}`;
        resolve();
      });
    });
    this.childIdentity = child.pid ? identify(child.pid) ?? { pid: child.pid } : undefined;
    const startedMs = Date.now();
    this.startedAt = new Date(startedMs).toISOString();
    appendLog(this.dir, `started ${record.name} (pid ${child.pid ?? '-'}, restart ${this.restarts})`);
    this.report('starting', this.restarts > 0 ? `restarted (${this.restarts} restarts)` : undefined);

    let failures = 0;
    let healthySince: number | undefined;
    while (!exited && !this.stopping) {
      const { healthy, detail } = await probe(record.healthCheck.httpUrl, record.healthCheck.timeoutSeconds * 1000);
      if (exited || this.stopping) break;
      if (healthy) {
        failures = 0;
        // Logged once per start: with the restart line below, the log tells a workload that never came
        // up from one that came up and then stopped answering.
        if (healthySince === undefined) appendLog(this.dir, `healthy ${((Date.now() - startedMs) / 1000).toFixed(1)} s after start`);
        healthySince ??= Date.now();
        if (this.phase !== 'running') this.report('running');
      } else if (Date.now() - startedMs >= record.healthCheck.startPeriodSeconds * 1000 || healthySince !== undefined) {
        failures += 1;
        if (failures >= record.healthCheck.retries) {
          this.report('unhealthy', `health check ${record.healthCheck.httpUrl} failed ${failures} times (last: ${detail}); restarting`);
          appendLog(this.dir, `health check failed ${failures} times (last: ${detail}); restarting the workload`);
          await this.stopChild();
          break;
        }
      }
      const interval = healthySince === undefined ? STARTING_PROBE_MS : record.healthCheck.intervalSeconds * 1000;
      await Promise.race([exit, this.sleepInterruptibly(interval)]);
    }
    if (this.stopping) await this.stopChild();
    await exit;
    // What the workload spawned (nginx, ffmpeg) must not outlive it and keep its ports.
    if (child.pid) signalGroup(child.pid, 'SIGKILL');
    if (healthySince !== undefined && Date.now() - healthySince >= RESTART_BACKOFF.resetAfterMs) this.consecutiveFailures = 0;
    if (!this.stopping) appendLog(this.dir, `${record.name} ${exitDetail || 'stopped'}`);
    this.detail = exitDetail;
    this.child = undefined;
  }

  private async backoff(): Promise<void> {
    const delay = Math.min(RESTART_BACKOFF.maxMs, RESTART_BACKOFF.initialMs * 2 ** this.consecutiveFailures);
    this.consecutiveFailures += 1;
    this.restarts += 1;
    this.report('starting', `${this.detail ?? 'exited'}; restarting in ${delay} ms (restart ${this.restarts})`);
    await this.sleepInterruptibly(delay);
  }

  private sleepInterruptibly(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  /** SIGTERM the child's group, SIGKILL what is left after the grace period. */
  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    signalGroup(child.pid, 'SIGTERM');
    const gone = await waitUntil(() => child.exitCode !== null || child.signalCode !== null, STOP_GRACE_MS);
    if (!gone) appendLog(this.dir, `${child.pid} ignored SIGTERM for ${STOP_GRACE_MS} ms; killed`);
    signalGroup(child.pid, 'SIGKILL');
    await waitUntil(() => child.exitCode !== null || child.signalCode !== null, 2_000);
  }

  private report(phase: WorkloadPhase, detail?: string): void {
    this.phase = phase;
    const state: SupervisorState = {
      phase,
      detail,
      restarts: this.restarts,
      child: this.child ? this.childIdentity : undefined,
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
    };
    try {
      // A fenced-off supervisor must not write into a folder that is gone or belongs to another.
      if (this.ownsFolder()) writeState(this.dir, state);
    } catch (error) {
      appendLog(this.dir, `could not record state: ${errorMessage(error)}`);
    }
  }

  private rotateLog(): void {
    const file = localPaths.log(this.dir);
    try {
      if (fs.statSync(file).size > MAX_LOG_BYTES) fs.renameSync(file, `${file}.1`);
    } catch {
      // No log yet.
    }
  }
}

/** What one health probe saw: healthy or not, and in words what it got (for the log and status). */
interface ProbeResult {
  readonly healthy: boolean;
  /** "answered 200", "answered 503", "no answer within 3000 ms", "connect ECONNREFUSED 127.0.0.1:9000"... */
  readonly detail: string;
}

/** GET the health URL on a fresh connection (no keep-alive pool that would outlive the supervisor). */
function probe(url: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      const status = response.statusCode ?? 500;
      resolve({ healthy: status >= 200 && status < 300, detail: `answered ${status}` });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ healthy: false, detail: error.message }));
  });
}
