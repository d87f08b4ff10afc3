/**
 * A driver runs workload specs on one kind of engine and reports what it sees. Drivers observe the
 * world themselves on every call (processes, containers) rather than trusting what they remember, so
 * the controller's level-triggered reconcile sees drift as soon as it happens.
 */
import { WorkloadSpec } from '../../contract/workload-spec';

export type WorkloadPhase = 'starting' | 'running' | 'unhealthy' | 'exited';

/** Who a workload is and what it was given: what every driver keeps with it (labels, records). */
export interface WorkloadIdentity {
  readonly name: string;
  readonly account: string;
  readonly role: string;
  readonly owner: string;
  /** What spec it was created from. */
  readonly specHash: string;
  /** Live config hash last delivered to the workload. */
  readonly liveHash: string;
}

export interface ObservedWorkload extends WorkloadIdentity {
  readonly phase: WorkloadPhase;
  /** Human-readable detail for status, e.g. "exit code 1", "health check failed 3 times". */
  readonly detail?: string;
  readonly restarts: number;
  readonly startedAt?: string;
  /** Engines that run copies of a workload (Swarm): how many it asks for, whoever set that. */
  readonly replicas?: number;
  /** Engines with several hosts (Swarm): the addresses of the hosts its running copies are on. */
  readonly addresses?: readonly string[];
}

export interface DriverContext {
  /** Root of the runtime's state (status, locks, local storage, logs). */
  readonly stateDir: string;
  /** Environment the runtime resolves secret variables from (`TF_VAR_<name>`); defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface Driver {
  readonly kind: 'local' | 'docker' | 'swarm';
  /** Every livestack-managed workload this driver can see (managed-by label), whatever its state. */
  observe(): Promise<ObservedWorkload[]>;
  /** Start a workload from its spec; idempotent: an existing workload of that name is replaced. */
  create(spec: WorkloadSpec): Promise<void>;
  /** Deliver a changed live config without restarting (control file + live-hash record). */
  updateLive(spec: WorkloadSpec): Promise<void>;
  /**
   * Run a one-off data-plane task (lib/contract/tasks.ts) next to `spec`'s workload: its image, env
   * and account storage, `command` instead of its own; resolves to what it printed on stdout, rejects
   * when it fails or outlives `timeoutMs`. Tasks are not workloads: observe() never lists them.
   */
  runTask(spec: WorkloadSpec, command: readonly string[], options?: { readonly timeoutMs?: number }): Promise<string>;
  /** Stop and remove a workload; removing one that does not exist is not an error. */
  delete(name: string): Promise<void>;
  /** Last lines of a workload's logs (stdout and stderr). */
  logs(name: string, lines?: number): Promise<string>;
  /** Host path of an account's storage (local: a folder under the state dir; docker: the volume's mountpoint; swarm: the shared path, if mounted here). */
  storageDir(account: string): Promise<string>;
  /** Release resources held by the driver itself (watchers, supervisors); workloads keep running unless stopped. */
  close(): Promise<void>;
}
