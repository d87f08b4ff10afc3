/** Waiting until the workloads of a desired state run healthy, as their driver observes them. */
import { Driver, ObservedWorkload } from './drivers/driver';
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

/** Poll the driver until every desired workload runs healthy, or `timeoutMs` passed. */
export async function waitForReady(driver: Driver, desired: DesiredState, timeoutMs: number, onPoll?: (r: Readiness) => void, signal?: AbortSignal): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = readiness(desired, await driver.observe());
    onPoll?.(result);
    if (result.ready || Date.now() >= deadline || signal?.aborted) return result;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
