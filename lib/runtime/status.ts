/**
 * Status per workload, with conditions in the Kubernetes manner (Ready, Degraded; reason; message;
 * lastTransitionTime; observedGeneration), grouped per account and persisted atomically in
 * `<stateDir>/accounts/<account>/status.json`. Computing it is pure; reading health files and
 * writing the result are the controller's job. Status never holds a secret or a locator id (its URLs
 * say `<locator-id>`; `livestack status` fills ids in when it shows them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IngestHealth } from '../contract/storage-layout';
import { writeFileAtomic } from '../util/files';
import { programPhase, ProgramPhase } from '../model/program-schedule';
import { ObservedWorkload, WorkloadPhase } from './drivers/driver';
import { DesiredState } from './desired-state';
import { AccountAccessRecord, accountAccessRecord, playbackUrlTemplates } from './access';

export type ConditionType = 'Ready' | 'Degraded';

export interface Condition {
  readonly type: ConditionType;
  readonly status: 'True' | 'False';
  /** CamelCase, machine-readable: Running, Starting, Exited, Unhealthy, Progressing, RetryBackoff, TerminalError, ... */
  readonly reason: string;
  readonly message?: string;
  readonly lastTransitionTime: string;
}

/** The last failure of an action on a workload. */
export interface WorkloadError {
  readonly message: string;
  readonly terminal: boolean;
  readonly at: string;
  /** When the controller will try again (absent for terminal errors). */
  readonly retryAt?: string;
}

export interface WorkloadStatus {
  readonly name: string;
  readonly account: string;
  readonly role: string;
  readonly owner: string;
  readonly declared: boolean;
  readonly phase: WorkloadPhase | 'absent';
  readonly detail?: string;
  readonly restarts: number;
  readonly startedAt?: string;
  readonly specHash?: string;
  readonly observedSpecHash?: string;
  readonly conditions: Condition[];
  /** The generation (manifest version) this workload was last seen in sync with. */
  readonly observedGeneration: number;
  readonly urls: string[];
  readonly lastError?: WorkloadError;
  /** Ingest workloads: the channel's health as the ingest reports it. */
  readonly ingestHealth?: IngestHealth;
}

export interface LocatorStatus {
  readonly name: string;
  readonly channel: string;
  readonly program: string;
  readonly endpoint: string;
  /** `scheduled` before its start, `live` within its window, `expired` after its end. */
  readonly state: 'scheduled' | 'live' | 'expired';
  /** Playback URLs with `<locator-id>` for the id: `livestack status` fills it in when it shows them. */
  readonly urls?: string[];
  readonly start?: string;
  readonly end?: string;
}

export interface ProgramStatus {
  readonly name: string;
  readonly channel: string;
  readonly assetName: string;
  /**
   * From its declared state, its schedule and its channel's state at the time of the pass (see
   * lib/model/program-schedule.ts); a program of a stopped channel is `stopped`.
   */
  readonly state: ProgramPhase;
  readonly start?: string;
  readonly end?: string;
}

export interface AccountStatus {
  readonly version: 1;
  readonly account: string;
  readonly generation: number;
  readonly updatedAt: string;
  readonly workloads: WorkloadStatus[];
  readonly locators: LocatorStatus[];
  /** Absent in status files written before programs were reported. */
  readonly programs?: ProgramStatus[];
  /**
   * Where to push and play, as the app declares it: ingest URLs, where each stream key comes from (a
   * secret id or a variable name, never the key), playback URL templates with `<locator-id>`. Absent in
   * status files written before it was reported.
   */
  readonly access?: Omit<AccountAccessRecord, 'account'>;
}

export interface StatusInput {
  readonly desired: DesiredState;
  readonly observed: readonly ObservedWorkload[];
  readonly generation: number;
  readonly errors: ReadonlyMap<string, WorkloadError>;
  readonly ingestHealth: ReadonlyMap<string, IngestHealth>;
  readonly previous: ReadonlyMap<string, AccountStatus>;
  readonly now: number;
}

/** An ingest health file older than this means the ingest stopped reporting. */
export const INGEST_HEALTH_STALE_SECONDS = 30;

export function computeStatus(input: StatusInput): AccountStatus[] {
  const nowIso = new Date(input.now).toISOString();
  const observedByName = new Map(input.observed.map((w) => [w.name, w]));
  const previousByName = new Map<string, WorkloadStatus>();
  for (const account of input.previous.values()) for (const w of account.workloads) previousByName.set(w.name, w);
  const byAccount = new Map<string, WorkloadStatus[]>();
  const add = (status: WorkloadStatus) => {
    const list = byAccount.get(status.account) ?? [];
    list.push(status);
    byAccount.set(status.account, list);
  };
  for (const spec of input.desired.specs) {
    const observed = observedByName.get(spec.name);
    const previous = previousByName.get(spec.name);
    const inSync = observed !== undefined && observed.specHash === spec.specHash && observed.liveHash === spec.liveHash && observed.phase !== 'exited';
    const error = input.errors.get(spec.name);
    const health = input.ingestHealth.get(spec.name);
    add({
      name: spec.name,
      account: spec.account,
      role: spec.role,
      owner: spec.owner,
      declared: true,
      phase: observed?.phase ?? 'absent',
      detail: observed?.detail,
      restarts: observed?.restarts ?? 0,
      startedAt: observed?.startedAt,
      specHash: spec.specHash,
      observedSpecHash: observed?.specHash,
      conditions: conditions(previous, ready(observed, inSync, error), degraded(observed, error, health, input.now), nowIso),
      observedGeneration: inSync ? input.generation : previous?.observedGeneration ?? 0,
      urls: spec.urls.map(withoutLocatorId),
      ...(error ? { lastError: error } : {}),
      ...(health ? { ingestHealth: health } : {}),
    });
  }
  const declared = new Set(input.desired.specs.map((s) => s.name));
  for (const observed of input.observed) {
    if (declared.has(observed.name)) continue;
    const previous = previousByName.get(observed.name);
    const error = input.errors.get(observed.name);
    add({
      name: observed.name, account: observed.account, role: observed.role, owner: observed.owner, declared: false,
      phase: observed.phase, detail: observed.detail, restarts: observed.restarts, startedAt: observed.startedAt,
      observedSpecHash: observed.specHash,
      conditions: conditions(previous, { status: 'False', reason: 'NotDeclared', message: 'no longer declared; it is being deleted' },
        degraded(observed, error, undefined, input.now), nowIso),
      observedGeneration: previous?.observedGeneration ?? 0,
      urls: [],
      ...(error ? { lastError: error } : {}),
    });
  }
  const accounts = new Set([...input.desired.manifest.accounts.map((a) => a.name), ...byAccount.keys()]);
  return [...accounts].sort().map((account) => ({
    version: 1 as const,
    account,
    generation: input.generation,
    updatedAt: nowIso,
    workloads: (byAccount.get(account) ?? []).sort((a, b) => (a.name < b.name ? -1 : 1)),
    locators: locatorStatus(input.desired, account, input.now),
    programs: programStatus(input.desired, account, input.now),
    access: accessStatus(input.desired, account),
  }));
}

/**
 * A URL as status shows it: playback URLs lose their locator id (unguessable by design, so not for
 * status output that ends up in tickets and chats); `livestack up` prints the full URLs once.
 */
function withoutLocatorId(url: string): string {
  return url.replace(/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\//, '/<locator-id>/');
}

type ConditionValue = Omit<Condition, 'type' | 'lastTransitionTime'>;

function ready(observed: ObservedWorkload | undefined, inSync: boolean, error: WorkloadError | undefined): ConditionValue {
  if (error?.terminal) return { status: 'False', reason: 'TerminalError', message: error.message };
  if (!observed) return { status: 'False', reason: 'Absent', message: error?.message ?? 'not created yet' };
  if (observed.phase === 'exited') return { status: 'False', reason: 'Exited', message: observed.detail };
  if (!inSync) return { status: 'False', reason: 'Progressing', message: 'waiting for its replacement or live config update' };
  if (observed.phase === 'running') return { status: 'True', reason: 'Running' };
  if (observed.phase === 'unhealthy') return { status: 'False', reason: 'Unhealthy', message: observed.detail };
  return { status: 'False', reason: 'Starting', message: observed.detail };
}

function degraded(observed: ObservedWorkload | undefined, error: WorkloadError | undefined, health: IngestHealth | undefined, now: number): ConditionValue {
  if (error) {
    return error.terminal
      ? { status: 'True', reason: 'TerminalError', message: `${error.message} (not retried until the app changes)` }
      : { status: 'True', reason: 'RetryBackoff', message: `${error.message}${error.retryAt ? ` (next try ${error.retryAt})` : ''}` };
  }
  if (observed?.phase === 'unhealthy') return { status: 'True', reason: 'Unhealthy', message: observed.detail };
  if (observed?.phase === 'starting' && observed.restarts > 0) return { status: 'True', reason: 'Restarting', message: observed.detail };
  if (health) {
    const age = (now - Date.parse(health.updatedAt)) / 1000;
    if (age > INGEST_HEALTH_STALE_SECONDS) return { status: 'True', reason: 'IngestHealthStale', message: `the ingest last reported ${Math.round(age)} s ago` };
    if (health.storage?.recordingPaused) return { status: 'True', reason: 'StorageFull', message: health.storage.message };
    if (health.publisherConnected && (health.lastSegmentAgeSeconds ?? 0) > INGEST_HEALTH_STALE_SECONDS) {
      return { status: 'True', reason: 'IngestStalled', message: `a publisher is connected but the newest segment is ${Math.round(health.lastSegmentAgeSeconds!)} s old` };
    }
  }
  return { status: 'False', reason: 'AsExpected' };
}

/** Keep lastTransitionTime unless the status or reason actually changed. */
function conditions(previous: WorkloadStatus | undefined, readyValue: ConditionValue, degradedValue: ConditionValue, nowIso: string): Condition[] {
  return (['Ready', 'Degraded'] as const).map((type) => {
    const value = type === 'Ready' ? readyValue : degradedValue;
    const before = previous?.conditions.find((c) => c.type === type);
    const unchanged = before && before.status === value.status && before.reason === value.reason;
    return { type, ...value, lastTransitionTime: unchanged ? before.lastTransitionTime : nowIso };
  });
}

function locatorStatus(desired: DesiredState, accountName: string, now: number): LocatorStatus[] {
  const account = desired.manifest.accounts.find((a) => a.name === accountName);
  return (account?.locators ?? []).map((l) => ({
    name: l.name,
    channel: l.channel,
    program: l.program,
    endpoint: l.endpoint,
    state: l.start && Date.parse(l.start) > now ? 'scheduled' : l.end && Date.parse(l.end) <= now ? 'expired' : 'live',
    urls: Object.values(playbackUrlTemplates(account!, l) ?? {}),
    ...(l.start ? { start: l.start } : {}),
    ...(l.end ? { end: l.end } : {}),
  }));
}

/** The account's access record without ids the app set itself (those stay in the app). */
function accessStatus(desired: DesiredState, accountName: string): Omit<AccountAccessRecord, 'account'> {
  const account = desired.manifest.accounts.find((a) => a.name === accountName);
  if (!account) return { ingest: [], playback: [], previews: [] };
  const { account: _name, playback, ...rest } = accountAccessRecord(account, desired.specs.filter((s) => s.account === accountName));
  return { ...rest, playback: playback.map(({ explicitId: _id, ...play }) => play) };
}

function programStatus(desired: DesiredState, accountName: string, now: number): ProgramStatus[] {
  const account = desired.manifest.accounts.find((a) => a.name === accountName);
  return (account?.channels ?? []).flatMap((channel) => channel.programs.map((p) => ({
    name: p.name,
    channel: channel.name,
    assetName: p.assetName,
    state: channel.state === 'running' ? programPhase(p, now) : 'stopped',
    ...(p.start ? { start: p.start } : {}),
    ...(p.end ? { end: p.end } : {}),
  })));
}

export function statusFile(stateDir: string, account: string): string {
  return path.join(stateDir, 'accounts', account, 'status.json');
}

export function writeStatus(stateDir: string, status: AccountStatus): void {
  writeFileAtomic(statusFile(stateDir, status.account), `${JSON.stringify(status, null, 2)}\n`);
}

/** Every account status persisted under `stateDir`, by account. */
export function readStatuses(stateDir: string): Map<string, AccountStatus> {
  const statuses = new Map<string, AccountStatus>();
  let accounts: string[];
  try {
    accounts = fs.readdirSync(path.join(stateDir, 'accounts'));
  } catch {
    return statuses;
  }
  for (const account of accounts) {
    try {
      statuses.set(account, JSON.parse(fs.readFileSync(statusFile(stateDir, account), 'utf8')) as AccountStatus);
    } catch {
      // No status yet for this account.
    }
  }
  return statuses;
}
