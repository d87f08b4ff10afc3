/**
 * The planner: pure and fast. Desired workload specs against observed workloads give one action per
 * workload, each with its reason and the disruption it causes. Same inputs, same plan; no I/O, so a
 * plan can be printed, saved, reviewed and checked again before it is applied.
 */
import { contentHash } from '../util/stable-json';
import { WorkloadSpec } from '../contract/workload-spec';
import { ServedLocator } from '../contract/workload-config';
import { ObservedWorkload } from './drivers/driver';
import { AppliedRecords } from './applied-records';

export type ActionKind = 'create' | 'replace' | 'update' | 'delete' | 'keep';

/** Execution order: deletes free ports and names before the replacements and creations that need them. */
export const ACTION_ORDER: readonly ActionKind[] = ['delete', 'replace', 'update', 'create', 'keep'];

/** What an action interrupts for the people using the stream. */
export type DisruptionFlag =
  | 'live-ingest-restarted'
  | 'live-ingest-stopped'
  | 'ingest-url-changed'
  | 'ingest-protocol-changed'
  | 'locator-withdrawn'
  | 'playback-interrupted'
  | 'key-delivery-interrupted';

export interface PlannedAction {
  readonly kind: ActionKind;
  readonly name: string;
  readonly role: string;
  readonly account: string;
  /** Why, in words: "new workload", "changed: config.channel.encoding", "repair: supervisor not running". */
  readonly reason: string;
  readonly disruptions: readonly DisruptionFlag[];
  /** Locator names this action takes away from players. */
  readonly withdrawnLocators?: readonly string[];
  /** Desired hashes (absent for a delete). */
  readonly specHash?: string;
  readonly liveHash?: string;
  /** Observed hashes (absent for a create). */
  readonly observedSpecHash?: string;
  readonly observedLiveHash?: string;
}

export interface PlanInput {
  readonly desired: readonly WorkloadSpec[];
  readonly observed: readonly ObservedWorkload[];
  /** Specs last applied, to explain replaces and flag URL and locator changes. */
  readonly applied?: AppliedRecords;
  /** Construct paths declared `stopped` (channels, endpoints), to explain deletes. */
  readonly stopped?: ReadonlySet<string>;
  /** Time the plan is made for (epoch ms): locators outside their window count as withdrawn. */
  readonly now?: number;
}

export interface Plan {
  /** In execution order (ACTION_ORDER, then name). */
  readonly actions: readonly PlannedAction[];
  readonly counts: Readonly<Record<ActionKind, number>>;
  /** True when any action is not `keep` (the `plan` exit code 2). */
  readonly hasChanges: boolean;
}

export function plan(input: PlanInput): Plan {
  const now = input.now ?? Date.now();
  const applied = input.applied ?? new Map<string, WorkloadSpec>();
  const observedByName = new Map<string, ObservedWorkload>();
  for (const workload of input.observed) observedByName.set(workload.name, workload);
  const actions: PlannedAction[] = [];
  const desiredNames = new Set<string>();
  for (const spec of input.desired) {
    desiredNames.add(spec.name);
    actions.push(planOne(spec, observedByName.get(spec.name), applied.get(spec.name), now));
  }
  for (const workload of input.observed) {
    if (!desiredNames.has(workload.name)) actions.push(planDelete(workload, applied.get(workload.name), input.stopped, now));
  }
  const rank = new Map(ACTION_ORDER.map((kind, index) => [kind, index]));
  actions.sort((a, b) => rank.get(a.kind)! - rank.get(b.kind)! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const counts: Record<ActionKind, number> = { create: 0, replace: 0, update: 0, delete: 0, keep: 0 };
  for (const action of actions) counts[action.kind] += 1;
  return { actions, counts, hasChanges: counts.keep !== actions.length };
}

function planOne(spec: WorkloadSpec, observed: ObservedWorkload | undefined, previous: WorkloadSpec | undefined, now: number): PlannedAction {
  const base = { name: spec.name, role: spec.role, account: spec.account, specHash: spec.specHash, liveHash: spec.liveHash };
  if (!observed) {
    const reason = previous ? 'missing: it was applied but is gone (removed outside livestack)' : 'new workload';
    return { ...base, kind: 'create', reason, disruptions: [] };
  }
  const seen = { ...base, observedSpecHash: observed.specHash, observedLiveHash: observed.liveHash };
  if (observed.specHash !== spec.specHash) {
    const changed = previous?.specHash === observed.specHash ? changedFields(previous, spec) : [];
    const what = changed.length > 0 ? `changed: ${changed.join(', ')}` : `spec changed (${observed.specHash} -> ${spec.specHash})`;
    const reason = observed.phase === 'exited' ? `${what} (was exited)` : what;
    // Replacing a workload that is already down interrupts nothing more.
    const disrupts = observed.phase !== 'exited';
    const withdrawn = withdrawnLocators(previous, spec, now);
    return { ...seen, kind: 'replace', reason, ...replaceDisruption(spec, previous, disrupts, withdrawn) };
  }
  if (observed.phase === 'exited') {
    return { ...seen, kind: 'replace', reason: `repair: ${observed.detail ?? 'exited'}`, disruptions: [] };
  }
  const liveChanged = observed.liveHash !== spec.liveHash;
  const cluster = previous?.specHash === observed.specHash ? clusterChanges(previous, spec) : { changes: [], addressChanged: false };
  // An engine that reports its replica count (Swarm) shows a service scaled outside livestack.
  const wanted = spec.replicas ?? 1;
  if (observed.replicas !== undefined && observed.replicas !== wanted && !cluster.changes.some((c) => c.startsWith('replicas '))) {
    cluster.changes.push(`replicas ${observed.replicas} -> ${wanted} (scaled outside livestack)`);
  }
  if (liveChanged || cluster.changes.length > 0) {
    const withdrawn = liveChanged ? withdrawnLocators(previous, spec, now) : [];
    const changes = liveChanged && previous?.liveHash === observed.liveHash ? liveChanges(previous, spec) : [];
    const what = [...(liveChanged ? [`live config changed${changes.length > 0 ? `: ${changes.join(', ')}` : ''}`] : []), ...cluster.changes];
    const reason = `${what.join('; ')} (in place, no restart)`;
    const disruptions: DisruptionFlag[] = [
      ...(cluster.addressChanged && spec.role === 'ingest' ? ['ingest-url-changed' as const] : []),
      ...(withdrawn.length > 0 ? ['locator-withdrawn' as const] : []),
    ];
    return { ...seen, kind: 'update', reason, disruptions, ...(withdrawn.length > 0 ? { withdrawnLocators: withdrawn } : {}) };
  }
  const state = observed.phase === 'running' ? '' : ` (${observed.phase}${observed.detail ? `: ${observed.detail}` : ''})`;
  return { ...seen, kind: 'keep', reason: `up to date${state}`, disruptions: [] };
}

/**
 * A deleted ingest first closes its channel's recordings (the controller delivers a live config with
 * every program stopped and waits a bounded moment, see recording-finalizer.ts), so its assets end as
 * video on demand instead of live streams that never advance. A replace does not: the recordings go on
 * in the new ingest. The Terraform path has no such step: a container Terraform removes leaves its
 * assets `recording` until an ingest of that channel starts again (which continues the recordings of
 * running programs and closes the others).
 */
function planDelete(observed: ObservedWorkload, previous: WorkloadSpec | undefined, stopped: ReadonlySet<string> | undefined, now: number): PlannedAction {
  const why = stopped?.has(observed.owner) ? `declared stopped (${observed.owner})` : `no longer declared (${observed.owner})`;
  const reason = observed.role === 'ingest' ? `${why}; finalizes recordings first` : why;
  const withdrawn = withdrawnLocators(previous, undefined, now);
  const flags: DisruptionFlag[] = [];
  if (observed.phase !== 'exited') {
    if (observed.role === 'ingest') flags.push('live-ingest-stopped', 'ingest-url-changed');
    if (observed.role === 'origin' || observed.role === 'balancer') flags.push('playback-interrupted');
    if (observed.role === 'keys') flags.push('key-delivery-interrupted');
  }
  if (withdrawn.length > 0) flags.push('locator-withdrawn');
  return {
    kind: 'delete', name: observed.name, role: observed.role, account: observed.account, reason, disruptions: flags,
    observedSpecHash: observed.specHash, observedLiveHash: observed.liveHash,
    ...(withdrawn.length > 0 ? { withdrawnLocators: withdrawn } : {}),
  };
}

function replaceDisruption(spec: WorkloadSpec, previous: WorkloadSpec | undefined, running: boolean, withdrawn: string[]) {
  const flags: DisruptionFlag[] = [];
  if (running) {
    if (spec.disruption === 'live-ingest') flags.push('live-ingest-restarted');
    if (spec.disruption === 'playback') flags.push('playback-interrupted');
    if (spec.disruption === 'key-delivery') flags.push('key-delivery-interrupted');
  }
  if (spec.role === 'ingest' && previous && previous.urls.join('\n') !== spec.urls.join('\n')) flags.push('ingest-url-changed');
  // An encoder on a protocol the channel no longer takes (or a new one it now takes) must be reconfigured.
  if (spec.role === 'ingest' && previous && schemes(previous.urls) !== schemes(spec.urls)) flags.push('ingest-protocol-changed');
  if (withdrawn.length > 0) flags.push('locator-withdrawn');
  return { disruptions: flags, ...(withdrawn.length > 0 ? { withdrawnLocators: withdrawn } : {}) };
}

/** The URL schemes of an ingest's encoder-facing URLs (`rtmp`, `srt`): its protocols, in a comparable form. */
function schemes(urls: readonly string[]): string {
  return [...new Set(urls.map((url) => url.slice(0, url.indexOf(':'))))].sort().join(',');
}

/** Locators served before (and live at `now`) that the new config no longer serves live. */
function withdrawnLocators(previous: WorkloadSpec | undefined, next: WorkloadSpec | undefined, now: number): string[] {
  const before = servedLocators(previous).filter((l) => isLive(l, now));
  if (before.length === 0) return [];
  // Names are unique in an account and fix the derived id (contract/locator-ids.ts); an explicit id may change under one.
  const after = new Map(servedLocators(next).map((l) => [l.name, l]));
  return before.filter((l) => !after.has(l.name) || after.get(l.name)!.id !== l.id || !isLive(after.get(l.name)!, now)).map((l) => l.name);
}

function servedLocators(spec: WorkloadSpec | undefined): ServedLocator[] {
  const live = spec?.liveConfig as { locators?: ServedLocator[] } | undefined;
  return Array.isArray(live?.locators) ? live!.locators : [];
}

function isLive(locator: ServedLocator, now: number): boolean {
  return (!locator.start || Date.parse(locator.start) <= now) && (!locator.end || Date.parse(locator.end) > now);
}

/**
 * What a cluster engine changes in place (not part of the spec hash): the replica count, the autoscaler,
 * the Service. A new Service type gives the workload another address (`addressChanged`).
 */
function clusterChanges(before: WorkloadSpec, after: WorkloadSpec): { changes: string[]; addressChanged: boolean } {
  const changes: string[] = [];
  const [was, now] = [before.replicas ?? 1, after.replicas ?? 1];
  if (was !== now) changes.push(`replicas ${was} -> ${now}`);
  const scaler = (spec: WorkloadSpec) => (spec.kubernetes?.autoscaling ? `up to ${spec.kubernetes.autoscaling.maxReplicas} at ${spec.kubernetes.autoscaling.targetCpuUtilizationPercent}% CPU` : 'none');
  if (scaler(before) !== scaler(after)) changes.push(`autoscaler ${scaler(before)} -> ${scaler(after)}`);
  const [oldService, newService] = [before.kubernetes?.service, after.kubernetes?.service];
  const addressChanged = oldService?.type !== newService?.type;
  if (addressChanged) changes.push(`service ${oldService?.type ?? 'none'} -> ${newService?.type ?? 'none'}`);
  else if (contentHash(oldService ?? null) !== contentHash(newService ?? null)) changes.push('service annotations changed');
  return { changes, addressChanged };
}

/** Which parts of a spec differ (see `WorkloadSpec.specParts`), e.g. `image`, `config.channel.encoding`. */
export function changedFields(before: WorkloadSpec, after: WorkloadSpec): string[] {
  const old = before.specParts ?? {};
  const next = after.specParts ?? {};
  const changed: string[] = [];
  for (const path in next) if (old[path] !== next[path]) changed.push(path);
  for (const path in old) if (!(path in next)) changed.push(path);
  return changed.sort();
}

/** What a live config change touches: locators or programs added, removed or changed, by name. */
function liveChanges(before: WorkloadSpec, after: WorkloadSpec): string[] {
  const byName = (spec: WorkloadSpec, key: 'locators' | 'programs') => {
    const list = (spec.liveConfig as Record<string, { name: string }[]> | undefined)?.[key];
    return new Map((Array.isArray(list) ? list : []).map((item) => [item.name, contentHash(item)]));
  };
  const changes: string[] = [];
  for (const key of ['locators', 'programs'] as const) {
    const old = byName(before, key);
    const next = byName(after, key);
    const singular = key.slice(0, -1);
    for (const [name, hash] of next) {
      if (!old.has(name)) changes.push(`${singular} ${name} added`);
      else if (old.get(name) !== hash) changes.push(`${singular} ${name} changed`);
    }
    for (const name of old.keys()) if (!next.has(name)) changes.push(`${singular} ${name} removed`);
  }
  return changes;
}

/**
 * A plan against a previous synthesis instead of a driver's observation: what runs is taken to be what
 * was synthesized before, every workload running, and its specs explain the changes. How a Kubernetes
 * app (or any app whose engine this machine cannot reach) is reviewed in a pull request: no cluster is
 * asked, so a workload changed by hand on the cluster is not seen.
 */
export function planAgainstPrevious(desired: Omit<PlanInput, 'observed' | 'applied'>, previous: readonly WorkloadSpec[]): Plan {
  const observed: ObservedWorkload[] = previous.map((s) => ({
    name: s.name, account: s.account, role: s.role, owner: s.owner, specHash: s.specHash, liveHash: s.liveHash, phase: 'running', restarts: 0,
  }));
  return plan({ ...desired, observed, applied: new Map(previous.map((s) => [s.name, s])) });
}

/**
 * A fingerprint of what a driver observed, as far as plans depend on it: a saved plan is refused
 * when the world it was made against has moved.
 */
export function worldFingerprint(observed: readonly ObservedWorkload[]): string {
  const rows = observed
    .map((w) => `${w.name} ${w.specHash} ${w.liveHash} ${w.phase === 'exited' ? 'exited' : 'present'}`)
    .sort();
  return contentHash(rows);
}
