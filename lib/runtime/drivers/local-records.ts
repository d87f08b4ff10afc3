/**
 * What the local driver keeps on disk per workload, under `<stateDir>/workloads/<name>/`:
 *
 * ```
 * workload.json    WorkloadRecord: identity, hashes and how to launch it (no secret values), written by the driver
 * supervisor.pid   `pid startTime` of the one supervisor that owns the workload (created O_EXCL by it)
 * state.json       SupervisorState: what the supervisor sees of its child, rewritten on every change
 * workload.log     the child's stdout and stderr, and the supervisor's own lines
 * ```
 *
 * The driver and the supervisor read these files instead of remembering, so any process (a new
 * `livestack apply`, `status`, a test) sees the same world.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HealthCheckSpec } from '../../contract/workload-spec';
import { writeFileAtomic } from '../../util/files';
import { ProcessIdentity, parseIdentity } from '../process-identity';
import { WorkloadIdentity, WorkloadPhase } from './driver';

export interface WorkloadRecord extends WorkloadIdentity {
  readonly version: 1;
  readonly createdAt: string;
  /** The runtime process that created the record: if it died before a supervisor claimed the workload, none ever will. */
  readonly createdBy?: ProcessIdentity;
  /** argv with `livestack` already mapped to this package's CLI. */
  readonly argv: string[];
  /** Environment the driver sets on top of the supervisor's own (which carries the secrets). */
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly healthCheck: HealthCheckSpec;
}

export interface SupervisorState {
  readonly phase: WorkloadPhase;
  readonly detail?: string;
  readonly restarts: number;
  readonly child?: ProcessIdentity;
  readonly startedAt?: string;
  readonly updatedAt: string;
}

export const localPaths = {
  workloadsDir: (stateDir: string) => path.join(stateDir, 'workloads'),
  workloadDir: (stateDir: string, name: string) => path.join(stateDir, 'workloads', name),
  storageDir: (stateDir: string, account: string) => path.join(stateDir, 'accounts', account, 'storage'),
  record: (dir: string) => path.join(dir, 'workload.json'),
  pidFile: (dir: string) => path.join(dir, 'supervisor.pid'),
  state: (dir: string) => path.join(dir, 'state.json'),
  log: (dir: string) => path.join(dir, 'workload.log'),
};

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    // Missing or mid-replacement (never half-written: writes are atomic renames): treat as absent.
    return undefined;
  }
}

export function readRecord(dir: string): WorkloadRecord | undefined {
  return readJson<WorkloadRecord>(localPaths.record(dir));
}

export function writeRecord(dir: string, record: WorkloadRecord): void {
  writeFileAtomic(localPaths.record(dir), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

export function readState(dir: string): SupervisorState | undefined {
  return readJson<SupervisorState>(localPaths.state(dir));
}

export function writeState(dir: string, state: SupervisorState): void {
  writeFileAtomic(localPaths.state(dir), `${JSON.stringify(state)}\n`);
}

export function readSupervisorPid(dir: string): ProcessIdentity | undefined {
  try {
    return parseIdentity(fs.readFileSync(localPaths.pidFile(dir), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Append one line of the runtime's own to a workload's log. */
export function appendLog(dir: string, line: string): void {
  try {
    fs.appendFileSync(localPaths.log(dir), `${new Date().toISOString()} [livestack] ${line}\n`);
  } catch {
    // The workload folder is being removed; nothing left to log to.
  }
}
