/** Whether the workloads of a desired state run healthy with their desired specs, as their driver observes them. */
import { ObservedWorkload } from './drivers/driver';
import { DesiredState } from './desired-state';

export interface Readiness {
  readonly ready: boolean;
  /** Workloads not running the desired spec yet, with what the driver says about them. */
  readonly pending: { name: string; phase: string; detail?: string }[];
}

export function readiness(desired: DesiredState, observed: readonly ObservedWorkload[]): Readiness {
  const byName = new Map(observed.map((w) => [w.name, w]));
  const pending = desired.specs.flatMap((spec) => {
    const w = byName.get(spec.name);
    if (w && w.phase === 'running' && w.specHash === spec.specHash && w.liveHash === spec.liveHash) return [];
    return [{ name: spec.name, phase: w?.phase ?? 'absent', detail: w?.detail }];
  });
  return { ready: pending.length === 0, pending };
}
