/**
 * The controller: level-triggered reconcile of desired workload specs against what a driver observes.
 * Every pass reads both sides afresh, plans, runs the actions that are not backing off, and writes
 * status; a pass after a successful one plans nothing. Transient errors requeue the workload with
 * backoff (per workload, capped, plus a global rate limit); terminal errors wait for the desired state
 * to change. Passes are serialized, and the caller holds the state directory's lock (see lock.ts).
 */
import * as fs from 'node:fs';
import { WorkloadSpec } from '../contract/workload-spec';
import { IngestHealth, ingestHealth, storagePaths } from '../contract/storage-layout';
import { Driver, ObservedWorkload } from './drivers/driver';
import { DesiredState, upcomingTimers } from './desired-state';
import { TerminalError, errorMessage, isTerminal } from './errors';
import { Plan, PlannedAction, ACTION_ORDER, plan as makePlan, worldFingerprint } from './plan';
import { RateLimiter, defaultRateLimiter } from './rate-limiter';
import { readAppliedRecords, removeAppliedRecord, writeAppliedRecord } from './applied-records';
import { AccountStatus, WorkloadError, computeStatus, readStatuses, writeStatus } from './status';
import { generationFor } from './generation';
import { readiness } from './readiness';
import { deleteIngestFinalized, ingestChannelOf } from './recording-finalizer';
import { readIngestHealthCommand } from '../contract/tasks';

export interface ActionEvent {
  /** `note`: something an action did on the way, worth telling (e.g. recordings closed before a delete). */
  readonly type: 'started' | 'succeeded' | 'failed' | 'deferred' | 'note';
  readonly action: PlannedAction;
  readonly error?: string;
  /** For `note`: what happened, a past-tense sentence. */
  readonly note?: string;
  readonly terminal?: boolean;
  readonly retryInMs?: number;
  readonly elapsedMs?: number;
}

export interface ControllerOptions {
  readonly driver: Driver;
  readonly stateDir: string;
  /** Past-tense lines naming the workload ("Created ls-demo-keys"). */
  readonly log?: (line: string) => void;
  /** Progress of each action, for displays. */
  readonly onAction?: (event: ActionEvent) => void;
  readonly rateLimiter?: RateLimiter;
  readonly now?: () => number;
  /** Actions of one kind run at most this many at a time. */
  readonly concurrency?: number;
  /** How long a deleted ingest gets to close its recordings (see recording-finalizer.ts). @default 5 s */
  readonly finalizeTimeoutMs?: number;
}

export interface PlanView {
  readonly plan: Plan;
  readonly observed: ObservedWorkload[];
  /** Fingerprint of the observed world (see worldFingerprint). */
  readonly fingerprint: string;
}

export interface ConvergeOptions {
  /** Give up after this long. @default 120 s */
  readonly timeoutMs?: number;
  /** A saved plan's fingerprint: refuse to act if the world moved since (see worldFingerprint). */
  readonly expectFingerprint?: string;
  /** Stop early (Ctrl-C); the last pass's result is returned. */
  readonly signal?: AbortSignal;
  /** Also wait until every desired workload runs healthy with its desired spec. */
  readonly waitReady?: boolean;
}

export interface PassResult {
  /** The plan this pass acted on. */
  readonly plan: Plan;
  /** The plan after the pass (what is still to do): no changes means converged. */
  readonly remaining: Plan;
  /** What the driver observed after the pass's actions. */
  readonly observed: readonly ObservedWorkload[];
  readonly failed: readonly { action: PlannedAction; error: WorkloadError }[];
  readonly statuses: AccountStatus[];
  /** When the next pass should run at the latest (a retry or a locator timer), epoch ms. */
  readonly nextWakeAt?: number;
}

/**
 * Workloads of an account on Kubernetes run on a cluster, never on this machine's drivers: an explicit
 * terminal error (nothing is touched), rather than containers that only look like the deployment. The
 * same holds between Swarm and the one-host drivers: an account runs where its platform says.
 */
export function refuseClusterWorkloads(desired: DesiredState, driver: string): void {
  const spec = desired.specs.find((s) => s.kubernetes !== undefined);
  if (spec) {
    throw new TerminalError(desired.source, `account ${spec.account} runs on Kubernetes (Platform.kubernetes()): the ${driver} driver cannot run it. ` +
      'Deploy it with `cdktf deploy`, or commit the YAML of `livestack synth --kubernetes-out DIR` for Argo CD or Flux; ' +
      'review a change with `livestack plan --against <the previous synthesis>`');
  }
  const swarm = desired.specs.find((s) => s.swarm !== undefined);
  if (swarm && driver !== 'swarm') {
    throw new TerminalError(desired.source, `account ${swarm.account} runs on Docker Swarm (Platform.swarm()): run it with --driver swarm (DOCKER_HOST at a manager), not the ${driver} driver`);
  }
  const oneHost = desired.specs.find((s) => s.swarm === undefined);
  if (oneHost && driver === 'swarm') {
    throw new TerminalError(desired.source, `account ${oneHost.account} runs on one Docker host: the swarm driver runs accounts declared with Platform.swarm() (use --driver docker or local for this one)`);
  }
}

/** A saved plan is refused when the world moved since it was made. */
export class StalePlanError extends TerminalError {
  constructor(saved: string, now: string) {
    super('saved plan', `the world moved since the plan was made (observed ${now}, plan made against ${saved}); run plan again`);
  }
}

interface Failure extends WorkloadError {
  /** For terminal errors: the desired hashes the error is about; a new spec is tried again. */
  readonly forHashes?: string;
  readonly retryAtMs?: number;
}

/** How often a task re-reads an ingest's health report where the storage is on the hosts (swarm). */
const HEALTH_TASK_INTERVAL_MS = 10_000;
/** Bound on one such task. */
const HEALTH_TASK_TIMEOUT_MS = 20_000;

export class Controller {
  private readonly driver: Driver;
  private readonly stateDir: string;
  private readonly limiter: RateLimiter;
  private readonly now: () => number;
  private readonly failures = new Map<string, Failure>();
  /** Ingest health read by a task (swarm), per workload: when, and what it said. */
  private readonly healthReads = new Map<string, { readonly readAtMs: number; readonly report?: IngestHealth }>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ControllerOptions) {
    this.driver = options.driver;
    this.stateDir = options.stateDir;
    this.limiter = options.rateLimiter ?? defaultRateLimiter();
    this.now = options.now ?? Date.now;
  }

  /** Observe and plan, acting on nothing (no lock needed). */
  async plan(desired: DesiredState): Promise<PlanView> {
    const observed = await this.driver.observe();
    return { plan: this.planAgainst(desired, observed), observed, fingerprint: worldFingerprint(observed) };
  }

  /**
   * One reconcile pass. With `expectFingerprint` (a saved plan), refuse to act when the observed
   * world differs from the one the plan was made against.
   */
  reconcile(desired: DesiredState, options: { expectFingerprint?: string } = {}): Promise<PassResult> {
    return this.serialized(() => this.pass(desired, options.expectFingerprint));
  }

  /**
   * Passes until nothing is left to do — and with `waitReady`, until every desired workload also runs
   * healthy (passes go on meanwhile, so a workload that dies while starting is repaired). Throws the
   * terminal errors that block convergence, or a timeout naming what is still pending and why.
   */
  async converge(desired: DesiredState, options: ConvergeOptions = {}): Promise<PassResult> {
    const deadline = this.now() + (options.timeoutMs ?? 120_000);
    let expect = options.expectFingerprint;
    for (;;) {
      const result = await this.reconcile(desired, { expectFingerprint: expect });
      expect = undefined;
      const converged = !result.remaining.hasChanges;
      const ready = converged && (!options.waitReady || readiness(desired, result.observed).ready);
      if (ready || options.signal?.aborted) return result;
      const pending = result.remaining.actions.filter((a) => a.kind !== 'keep');
      const blocked = pending.map((a) => this.failures.get(a.name)).filter((f): f is Failure => f?.terminal === true);
      if (blocked.length > 0 && blocked.length === pending.length) {
        throw new TerminalError('apply', blocked.map((f) => f.message).join('; '));
      }
      if (this.now() >= deadline) {
        if (converged) {
          const waiting = readiness(desired, result.observed).pending.map((p) => `${p.name} (${p.phase}${p.detail ? `: ${p.detail}` : ''})`);
          throw new Error(`not ready in time: ${waiting.join(', ')}; see \`livestack logs <workload>\``);
        }
        const what = pending.map((a) => `${a.kind} ${a.name}${this.failures.get(a.name) ? ` (${this.failures.get(a.name)!.message})` : ''}`);
        throw new Error(`did not converge in time; still pending: ${what.join(', ')}`);
      }
      // Waiting for health needs no full pass every few ms, but a repair should not wait long either.
      const wake = Math.min(result.nextWakeAt ?? Infinity, this.now() + (converged ? 250 : 1_000), deadline);
      await sleep(Math.max(20, wake - this.now()));
    }
  }

  /**
   * Reconcile until `signal` aborts: a pass every `resyncMs`, sooner for retries and locator timers,
   * and at once after `poke()`. `desired()` is read on every pass, so the caller can swap it.
   */
  async watch(desired: () => DesiredState, options: { signal: AbortSignal; resyncMs?: number; onPass?: (result: PassResult) => void; onError?: (error: unknown) => void }): Promise<void> {
    const resync = options.resyncMs ?? 1_000;
    while (!options.signal.aborted) {
      let wakeAt = this.now() + resync;
      try {
        const result = await this.reconcile(desired());
        options.onPass?.(result);
        if (result.nextWakeAt !== undefined) wakeAt = Math.min(wakeAt, result.nextWakeAt);
      } catch (error) {
        options.onError?.(error);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(10, wakeAt - this.now()));
        const poked = () => done();
        this.pokes.add(poked);
        options.signal.addEventListener('abort', done, { once: true });
        const self = this;
        function done() {
          clearTimeout(timer);
          self.pokes.delete(poked);
          options.signal.removeEventListener('abort', done);
          resolve();
        }
      });
    }
  }

  private readonly pokes = new Set<() => void>();

  /** Wake a waiting `watch` loop for an immediate pass. */
  poke(): void {
    for (const poke of [...this.pokes]) poke();
  }

  /** Delete every workload the driver manages (and their records); statuses record the result. */
  destroy(): Promise<string[]> {
    return this.serialized(async () => {
      const observed = await this.driver.observe();
      const deletes: PlannedAction[] = observed.map((w) => ({
        kind: 'delete', name: w.name, role: w.role, account: w.account, reason: 'destroy', disruptions: [],
      }));
      const errors: string[] = [];
      await this.runActions(deletes, new Map(), observed, errors);
      for (const status of readStatuses(this.stateDir).values()) {
        // Nothing is reachable any more: status stops showing where to push and play.
        const { access: _gone, ...rest } = status;
        writeStatus(this.stateDir, { ...rest, updatedAt: new Date(this.now()).toISOString(), workloads: [] });
      }
      return errors;
    });
  }

  private planAgainst(desired: DesiredState, observed: ObservedWorkload[]): Plan {
    refuseClusterWorkloads(desired, this.driver.kind);
    return makePlan({
      desired: desired.specs, observed, applied: readAppliedRecords(this.stateDir), stopped: desired.stopped, now: this.now(),
    });
  }

  private async pass(desired: DesiredState, expectFingerprint: string | undefined): Promise<PassResult> {
    const observed = await this.driver.observe();
    if (expectFingerprint !== undefined) {
      const actual = worldFingerprint(observed);
      if (actual !== expectFingerprint) throw new StalePlanError(expectFingerprint, actual);
    }
    const generation = generationFor(this.stateDir, desired.hash);
    const current = this.planAgainst(desired, observed);
    const specs = new Map(desired.specs.map((s) => [s.name, s]));
    this.dropResolvedFailures(current, specs);
    const runnable: PlannedAction[] = [];
    for (const action of current.actions) {
      if (action.kind === 'keep') continue;
      const failure = this.failures.get(action.name);
      if (failure?.terminal || (failure?.retryAtMs !== undefined && failure.retryAtMs > this.now())) {
        this.options.onAction?.({ type: 'deferred', action, error: failure.message, terminal: failure.terminal });
        continue;
      }
      runnable.push(action);
    }
    const errors: string[] = [];
    await this.runActions(runnable, specs, observed, errors);
    const after = await this.driver.observe();
    const remaining = this.planAgainst(desired, after);
    const statuses = await this.writeStatuses(desired, after, generation);
    const failed = runnable.flatMap((action) => {
      const error = this.failures.get(action.name);
      return error ? [{ action, error }] : [];
    });
    return { plan: current, remaining, observed: after, failed, statuses, nextWakeAt: this.nextWake(desired) };
  }

  /** Failures about a spec that no longer is the desired one, or about work no longer needed, are moot. */
  private dropResolvedFailures(current: Plan, specs: Map<string, WorkloadSpec>): void {
    const pending = new Map(current.actions.filter((a) => a.kind !== 'keep').map((a) => [a.name, a]));
    for (const [name, failure] of this.failures) {
      const spec = specs.get(name);
      const moot = !pending.has(name) || (failure.forHashes !== undefined && failure.forHashes !== hashesOf(spec));
      if (moot) {
        this.failures.delete(name);
        this.limiter.forget(name);
      }
    }
  }

  private async runActions(actions: PlannedAction[], specs: Map<string, WorkloadSpec>, observed: readonly ObservedWorkload[], errors: string[]): Promise<void> {
    const concurrency = this.options.concurrency ?? 4;
    const observedByName = new Map(observed.map((w) => [w.name, w]));
    for (const kind of ACTION_ORDER) {
      const batch = actions.filter((a) => a.kind === kind);
      let next = 0;
      const worker = async () => {
        while (next < batch.length) {
          const action = batch[next++];
          const error = await this.runOne(action, specs.get(action.name), observedByName.get(action.name));
          if (error) errors.push(error);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
    }
  }

  private async runOne(action: PlannedAction, spec: WorkloadSpec | undefined, observed: ObservedWorkload | undefined): Promise<string | undefined> {
    const started = this.now();
    this.options.onAction?.({ type: 'started', action });
    try {
      switch (action.kind) {
        case 'create':
        case 'replace':
          await this.driver.create(spec!);
          writeAppliedRecord(this.stateDir, spec!);
          break;
        case 'update':
          await this.driver.updateLive(spec!);
          writeAppliedRecord(this.stateDir, spec!);
          break;
        case 'delete':
          await this.deleteWorkload(action, observed);
          removeAppliedRecord(this.stateDir, action.name);
          break;
        case 'keep':
          return undefined;
      }
      this.failures.delete(action.name);
      this.limiter.forget(action.name);
      this.options.log?.(`${PAST[action.kind]} ${action.role} ${action.name} (${action.reason})`);
      this.options.onAction?.({ type: 'succeeded', action, elapsedMs: this.now() - started });
      return undefined;
    } catch (error) {
      const terminal = isTerminal(error);
      const message = errorMessage(error);
      const now = this.now();
      const retryInMs = terminal ? undefined : this.limiter.when(action.name, now);
      this.failures.set(action.name, {
        message,
        terminal,
        at: new Date(now).toISOString(),
        ...(retryInMs !== undefined ? { retryAtMs: now + retryInMs, retryAt: new Date(now + retryInMs).toISOString() } : {}),
        ...(terminal ? { forHashes: hashesOf(spec) } : {}),
      });
      const next = terminal ? 'not retried until the app changes' : `retrying in ${retryInMs} ms`;
      this.options.log?.(`Failed to ${action.kind} ${action.role} ${action.name}: ${message} (${next})`);
      this.options.onAction?.({ type: 'failed', action, error: message, terminal, retryInMs, elapsedMs: now - started });
      return message;
    }
  }

  /**
   * An ingest is deleted only after its recordings are closed (a finalizer); a replace never comes
   * here, so recordings continue in the new ingest. Terraform removes containers without this step.
   */
  private async deleteWorkload(action: PlannedAction, observed: ObservedWorkload | undefined): Promise<void> {
    const remove = () => this.driver.delete(action.name);
    if (action.role !== 'ingest' || !observed) return remove();
    await deleteIngestFinalized(
      {
        driver: this.driver,
        log: (line) => {
          this.options.log?.(line);
          this.options.onAction?.({ type: 'note', action, note: line });
        },
        timeoutMs: this.options.finalizeTimeoutMs,
      },
      observed, readAppliedRecords(this.stateDir).get(action.name), remove,
    );
  }

  private async writeStatuses(desired: DesiredState, observed: ObservedWorkload[], generation: number): Promise<AccountStatus[]> {
    const errors = new Map<string, WorkloadError>();
    for (const [name, { forHashes: _h, retryAtMs: _r, ...error }] of this.failures) errors.set(name, error);
    const statuses = computeStatus({
      desired,
      observed,
      generation,
      errors,
      ingestHealth: await this.readIngestHealth(desired.specs, observed),
      previous: readStatuses(this.stateDir),
      now: this.now(),
    });
    for (const status of statuses) writeStatus(this.stateDir, status);
    return statuses;
  }

  private async readIngestHealth(specs: readonly WorkloadSpec[], observed: readonly ObservedWorkload[]): Promise<Map<string, IngestHealth>> {
    const health = new Map<string, IngestHealth>();
    // On a swarm the storage lives on the hosts: the controller reads no workload state from a mountpoint.
    if (this.driver.kind === 'swarm') return this.readIngestHealthByTask(specs, observed);
    for (const spec of specs) {
      if (spec.role !== 'ingest') continue;
      const channel = ingestChannelOf(spec);
      if (!channel) continue;
      try {
        const file = storagePaths.channelHealth(await this.driver.storageDir(spec.account), channel);
        const parsed = ingestHealth.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
        if (parsed.success) health.set(spec.name, parsed.data);
      } catch {
        // No health report yet (the ingest is starting, or has not seen a publisher).
      }
    }
    return health;
  }

  /**
   * Ingest health where the storage is on the hosts: a task next to each running ingest reads its report
   * (lib/contract/tasks.ts). A task costs seconds, so a report is read again only after
   * HEALTH_TASK_INTERVAL_MS; a task that fails leaves the ingest without a report, never the pass failed.
   */
  private async readIngestHealthByTask(specs: readonly WorkloadSpec[], observed: readonly ObservedWorkload[]): Promise<Map<string, IngestHealth>> {
    const running = new Set(observed.filter((w) => w.phase === 'running').map((w) => w.name));
    const now = this.now();
    await Promise.all(specs.map(async (spec) => {
      const channel = spec.role === 'ingest' && running.has(spec.name) ? ingestChannelOf(spec) : undefined;
      if (!channel) {
        this.healthReads.delete(spec.name);
        return;
      }
      const last = this.healthReads.get(spec.name);
      if (last && now - last.readAtMs < HEALTH_TASK_INTERVAL_MS) return;
      let report: IngestHealth | undefined;
      try {
        const output = await this.driver.runTask(spec, readIngestHealthCommand(channel), { timeoutMs: HEALTH_TASK_TIMEOUT_MS });
        const parsed = ingestHealth.safeParse(JSON.parse(output.trim().split('\n').pop() ?? 'null'));
        if (parsed.success) report = parsed.data;
      } catch {
        // The ingest's host may be going away; the next read tries again.
      }
      this.healthReads.set(spec.name, { readAtMs: now, ...(report ? { report } : {}) });
    }));
    const health = new Map<string, IngestHealth>();
    for (const [name, read] of this.healthReads) if (read.report && running.has(name)) health.set(name, read.report);
    return health;
  }

  private nextWake(desired: DesiredState): number | undefined {
    const now = this.now();
    const times = upcomingTimers(desired, now);
    for (const failure of this.failures.values()) if (failure.retryAtMs !== undefined) times.push(failure.retryAtMs);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

const PAST: Record<PlannedAction['kind'], string> = {
  create: 'Created', replace: 'Replaced', update: 'Updated live config of', delete: 'Deleted', keep: 'Kept',
};

function hashesOf(spec: WorkloadSpec | undefined): string {
  return spec ? `${spec.specHash}/${spec.liveHash}` : 'deleted';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
