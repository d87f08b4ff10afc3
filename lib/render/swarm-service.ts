/**
 * Workload spec -> one Docker Swarm service, described once for every path that creates it: the
 * Terraform synth maps this description onto `docker_service` (lib/synth/swarm-resources.ts) and the
 * runtime's swarm driver onto the Engine API (lib/runtime/drivers/swarm-service-spec.ts). Both mappings
 * are renamings; every decision (replicas, ports and their publish mode, mounts, secrets, health check,
 * restart and update policy, placement, resources) is made here.
 */
import { createHash } from 'node:crypto';
import { LABELS } from '../contract/labels';
import { STORAGE_MOUNT, WorkloadSpec } from '../contract/workload-spec';
import { CONTAINER_LOG, ContainerHealthcheck, containerHealthcheck } from './docker-container';

/** Where Docker secrets appear inside a task (swarm's fixed root). */
export const SWARM_SECRETS_DIR = '/run/secrets';

/** Seconds a task gets between SIGTERM and SIGKILL (segments flushed, connections closed). */
const STOP_GRACE_SECONDS = 8;

export interface SwarmSecretRef {
  /** Environment variable the workload reads the secret's file path from (`<name>_FILE`). */
  readonly env: string;
  /** Sensitive Terraform variable holding the value (Terraform `var.x`, runtime `TF_VAR_x`). */
  readonly variable: string;
  /** File name under /run/secrets. */
  readonly fileName: string;
  /** Owner and mode of the file: the runtime image's workload user (images/Dockerfile) alone reads it. */
  readonly uid: string;
  readonly gid: string;
  readonly mode: number;
}

/**
 * How often swarm checks an ingest's health. A task with a health check stays `starting` until its first
 * check passes (so `status` shows no address for it yet), and Docker 20.10 runs that check one interval
 * after the start (no start interval): a 5-s interval held a moved ingest back ~5 s after it could take
 * the encoder. Its retries grow to match, so an ingest is still declared unhealthy after as long a
 * failing stretch as the spec allows (a slow probe on a busy host must not restart a channel).
 */
const INGEST_HEALTH_INTERVAL_SECONDS = 2;

/** The runtime image's workload user (images/Dockerfile). */
const WORKLOAD_UID = '10001';

export interface SwarmService {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  /** Plain environment, by name (secrets arrive as files, their paths in `<env>_FILE`). */
  readonly env: Readonly<Record<string, string>>;
  readonly secrets: readonly SwarmSecretRef[];
  /** Service labels (identity, spec hash, live hash): changing them restarts no task. */
  readonly labels: Readonly<Record<string, string>>;
  /** Container labels: what identifies a task's container on its node. Part of the task template. */
  readonly containerLabels: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly ports: readonly { readonly target: number; readonly published: number; readonly protocol: 'tcp' | 'udp'; readonly publishMode: 'ingress' | 'host' }[];
  /** `vip` with the routing mesh; `dnsrr` with host-mode ports (no IPVS needed). */
  readonly endpointMode: 'vip' | 'dnsrr';
  readonly mounts: readonly { readonly type: 'volume' | 'bind'; readonly source: string; readonly target: string; readonly readOnly: boolean }[];
  readonly healthcheck: ContainerHealthcheck;
  /** Swarm replaces a task that exits or that its health check marks unhealthy, on any node. */
  readonly restart: { readonly condition: 'any'; readonly delaySeconds: number; readonly maxAttempts: 0 };
  readonly update: {
    readonly order: 'start-first' | 'stop-first';
    readonly parallelism: 1;
    readonly failureAction: 'rollback';
    readonly monitorSeconds: number;
  };
  readonly placement: { readonly constraints: readonly string[]; readonly preferences: readonly string[]; readonly maxReplicas?: number };
  readonly resources: { readonly reservations: { readonly nanoCpus?: number; readonly memoryBytes?: number }; readonly limits: { readonly nanoCpus?: number; readonly memoryBytes?: number } };
  readonly stopGracePeriodSeconds: number;
  readonly log: typeof CONTAINER_LOG;
}

export class NotASwarmWorkloadError extends Error {
  constructor(readonly workload: string) {
    super(`workload ${workload} has no swarm settings: its account is not on Platform.swarm()`);
    this.name = 'NotASwarmWorkloadError';
  }
}

export function swarmService(spec: WorkloadSpec): SwarmService {
  const swarm = spec.swarm;
  if (!swarm) throw new NotASwarmWorkloadError(spec.name);
  const secrets = Object.entries(spec.secretEnv).sort(([a], [b]) => (a < b ? -1 : 1)).map(([env, variable]) => ({ env, variable, fileName: env.toLowerCase(), uid: WORKLOAD_UID, gid: WORKLOAD_UID, mode: 0o400 }));
  const env: Record<string, string> = { ...spec.env };
  for (const secret of secrets) env[`${secret.env}_FILE`] = `${SWARM_SECRETS_DIR}/${secret.fileName}`;
  const { [LABELS.liveHash]: _live, ...containerLabels } = spec.labels;
  return {
    name: spec.name,
    image: spec.image,
    command: [...spec.command],
    env,
    secrets,
    labels: { ...spec.labels },
    containerLabels,
    replicas: spec.replicas ?? 1,
    ports: spec.ports.map((p) => ({ target: p.containerPort, published: p.hostPort, protocol: p.protocol, publishMode: swarm.publishMode })),
    endpointMode: swarm.publishMode === 'host' ? 'dnsrr' : 'vip',
    mounts: spec.mounts.map((m) => (m.hostPath !== undefined
      ? { type: 'bind' as const, source: m.hostPath, target: m.target, readOnly: m.readOnly }
      : { type: 'volume' as const, source: m.volume, target: m.target, readOnly: m.readOnly })),
    healthcheck: swarmHealthcheck(spec),
    restart: { condition: 'any', delaySeconds: 1, maxAttempts: 0 },
    update: { order: swarm.updateOrder, parallelism: 1, failureAction: 'rollback', monitorSeconds: 15 },
    placement: {
      constraints: [...swarm.placement.constraints],
      preferences: swarm.placement.spreadOver.map((label) => `spread=${label}`),
      ...(swarm.placement.maxReplicasPerNode !== undefined ? { maxReplicas: swarm.placement.maxReplicasPerNode } : {}),
    },
    resources: {
      reservations: { nanoCpus: nanoCpus(swarm.resources.requests.cpu), memoryBytes: bytes(swarm.resources.requests.memory) },
      limits: { nanoCpus: nanoCpus(swarm.resources.limits.cpu), memoryBytes: bytes(swarm.resources.limits.memory) },
    },
    stopGracePeriodSeconds: STOP_GRACE_SECONDS,
    log: CONTAINER_LOG,
  };
}

function swarmHealthcheck(spec: WorkloadSpec): ContainerHealthcheck {
  const check = containerHealthcheck(spec);
  if (spec.role !== 'ingest' || check.intervalSeconds <= INGEST_HEALTH_INTERVAL_SECONDS) return check;
  const failingSeconds = check.intervalSeconds * check.retries;
  return { ...check, intervalSeconds: INGEST_HEALTH_INTERVAL_SECONDS, retries: Math.ceil(failingSeconds / INGEST_HEALTH_INTERVAL_SECONDS) };
}

/**
 * The Docker secret holding `variable`'s value for `account`. Secrets are immutable, so the name
 * carries a fingerprint of the value (sha256, first 12 hex digits, as Terraform's `sha256()` writes
 * it): a new value is a new secret and a rolling update, never an edit.
 */
export function swarmSecretName(account: string, variable: string, fingerprint: string): string {
  return `ls-${account}-${variable}-${fingerprint}`;
}

/** The fingerprint of a secret value in its Docker secret's name. */
export function secretFingerprint(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}

/** The storage mount of a rendered service: the shared host path or the volume. */
export function serviceStorage(service: SwarmService): SwarmService['mounts'][number] | undefined {
  return service.mounts.find((m) => m.target === STORAGE_MOUNT);
}

function nanoCpus(quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const cores = quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
  return Math.round(cores * 1e9);
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

function bytes(quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)([KMGTP]i|[kMGTP])?$/.exec(quantity);
  if (!match) throw new Error(`not a byte quantity: ${quantity}`);
  const unit = match[2] ? BINARY[match[2]] ?? DECIMAL[match[2]] : 1;
  return Math.round(Number(match[1]) * unit);
}
