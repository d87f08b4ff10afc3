/**
 * What a container inspect says about a workload: phase from the container state and its health
 * check, identity and spec hash from its labels.
 *
 * A container Docker marks unhealthy counts as `exited`: Docker's restart policy restarts containers
 * that exit, never unhealthy ones, so nobody but the controller brings it back (its plan replaces an
 * exited workload) — the way the local driver's supervisor restarts a workload that stays unhealthy.
 */
import type { ContainerInspectInfo } from 'dockerode';
import { LABELS } from '../../contract/labels';
import { ObservedWorkload, WorkloadPhase } from './driver';

/**
 * How long a created container may wait for its start. The driver starts what it creates at once (or
 * removes it), so one created longer ago was left by a runtime that stopped in between: nobody will
 * start it, and it counts as exited so the plan replaces it.
 */
export const CREATED_START_GRACE_MS = 10_000;

/**
 * @param liveHash the live config hash last delivered (from the control file); the creation-time label
 *   when the workload has no control file.
 * @param now the time of the observation (epoch ms)
 */
export function observedFromInspect(info: ContainerInspectInfo, liveHash?: string, now = Date.now()): ObservedWorkload {
  const labels = info.Config.Labels ?? {};
  const { phase, detail } = info.State.Status === 'created' && now - Date.parse(info.Created) > CREATED_START_GRACE_MS
    ? { phase: 'exited' as const, detail: 'container created but never started (whoever created it stopped first)' }
    : phaseOf(info.State);
  const started = info.State.StartedAt && !info.State.StartedAt.startsWith('0001-') ? info.State.StartedAt : undefined;
  return {
    name: info.Name.replace(/^\//, ''),
    account: labels[LABELS.account] ?? '',
    role: labels[LABELS.role] ?? '',
    owner: labels[LABELS.owner] ?? '',
    specHash: labels[LABELS.specHash] ?? '',
    liveHash: liveHash ?? labels[LABELS.liveHash] ?? '',
    phase,
    ...(detail ? { detail } : {}),
    restarts: info.RestartCount ?? 0,
    ...(started ? { startedAt: started } : {}),
  };
}

function phaseOf(state: ContainerInspectInfo['State']): { phase: WorkloadPhase; detail?: string } {
  switch (state.Status) {
    case 'created':
      return { phase: 'starting', detail: 'container created, not started' };
    case 'running':
      return healthPhase(state.Health);
    case 'paused':
      return { phase: 'unhealthy', detail: 'container paused' };
    case 'restarting':
      // Docker's restart policy is already bringing it back, but it is not serving: a crash loop shows here.
      return { phase: 'exited', detail: `${exitDetail(state)}; Docker is restarting it` };
    default:
      return { phase: 'exited', detail: `container ${state.Status}, ${exitDetail(state)}` };
  }
}

function healthPhase(health: ContainerInspectInfo['State']['Health']): { phase: WorkloadPhase; detail?: string } {
  if (!health || health.Status === 'none') return { phase: 'running' };
  if (health.Status === 'healthy') return { phase: 'running' };
  if (health.Status === 'starting') return { phase: 'starting', detail: 'health check not passed yet' };
  const last = health.Log?.[health.Log.length - 1];
  const output = last?.Output?.trim().split('\n').pop()?.slice(0, 200);
  return {
    phase: 'exited',
    detail: `unhealthy: health check failed ${health.FailingStreak} times${output ? ` (${output})` : ''}; Docker does not restart unhealthy containers`,
  };
}

function exitDetail(state: ContainerInspectInfo['State']): string {
  if (state.OOMKilled) return 'killed for lack of memory';
  if (state.Error) return `exit code ${state.ExitCode} (${state.Error})`;
  return `exit code ${state.ExitCode}`;
}
