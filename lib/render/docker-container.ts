/**
 * Workload spec -> one Docker container, described once for every path that creates it: the Terraform
 * synth maps this description onto `docker_container` (lib/synth/docker-resources.ts) and the runtime's
 * docker driver onto the Engine API (lib/runtime/drivers/docker-container-spec.ts). Both mappings are
 * mechanical renamings; every decision (argv, env, ports, mounts, labels, health check, restart, init,
 * logs, image build) is made here, so the two paths cannot drift apart.
 */
import { STORAGE_MOUNT, WorkloadSpec } from '../contract/workload-spec';

/** The Dockerfile (relative to the livestack package) that builds the runtime image. */
export const RUNTIME_DOCKERFILE = 'images/Dockerfile';

/**
 * json-file logs bounded per container: a long-running ingest must not fill the disk with its logs.
 */
export const CONTAINER_LOG = { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } } as const;

/** A workload's health check as Docker runs it (containers and swarm tasks alike). */
export interface ContainerHealthcheck {
  readonly test: readonly string[];
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly startPeriodSeconds: number;
}

/** The health check of a workload spec, in Docker's terms. */
export function containerHealthcheck(spec: WorkloadSpec): ContainerHealthcheck {
  return {
    test: [...spec.healthCheck.command],
    intervalSeconds: spec.healthCheck.intervalSeconds,
    timeoutSeconds: spec.healthCheck.timeoutSeconds,
    retries: spec.healthCheck.retries,
    startPeriodSeconds: spec.healthCheck.startPeriodSeconds,
  };
}

export interface DockerContainer {
  readonly name: string;
  readonly image: string;
  /** Present when the image is built from livestack's Dockerfile: its `BASE_IMAGE` build argument. */
  readonly imageBuild?: { readonly dockerfile: string; readonly baseImage: string };
  readonly command: readonly string[];
  /** Plain environment, by name. */
  readonly env: Readonly<Record<string, string>>;
  /** Secret environment: env name -> sensitive Terraform variable name (Terraform `${var.x}`, runtime `TF_VAR_x`). */
  readonly secretEnv: Readonly<Record<string, string>>;
  readonly ports: readonly { readonly internal: number; readonly external: number; readonly ip: string; readonly protocol: 'tcp' | 'udp' }[];
  /** Docker volumes, by name, or a shared host path bind-mounted instead (`hostPath`). */
  readonly mounts: readonly { readonly volume: string; readonly hostPath?: string; readonly target: string; readonly readOnly: boolean }[];
  readonly network: string;
  /** Names other workloads reach this one by on the network. */
  readonly aliases: readonly string[];
  readonly healthcheck: ContainerHealthcheck;
  readonly labels: Readonly<Record<string, string>>;
  readonly restart: 'unless-stopped';
  /** An init as PID 1 forwards signals and reaps the nginx and ffmpeg children of a workload. */
  readonly init: true;
  readonly log: typeof CONTAINER_LOG;
}

export function dockerContainer(spec: WorkloadSpec): DockerContainer {
  return {
    name: spec.name,
    image: spec.image,
    ...(spec.imageBuild ? { imageBuild: { dockerfile: RUNTIME_DOCKERFILE, baseImage: spec.imageBuild.baseImage } } : {}),
    command: [...spec.command],
    env: { ...spec.env },
    secretEnv: { ...spec.secretEnv },
    ports: spec.ports.map((p) => ({ internal: p.containerPort, external: p.hostPort, ip: p.hostIp, protocol: p.protocol })),
    mounts: spec.mounts.map((m) => ({ volume: m.volume, ...(m.hostPath !== undefined ? { hostPath: m.hostPath } : {}), target: m.target, readOnly: m.readOnly })),
    network: spec.network,
    aliases: [spec.name],
    healthcheck: containerHealthcheck(spec),
    labels: { ...spec.labels },
    restart: 'unless-stopped',
    init: true,
    log: CONTAINER_LOG,
  };
}

/** The account storage volume a container mounts at the storage root (none when it binds a shared path). */
export function storageVolumeOf(container: DockerContainer): string | undefined {
  const mount = container.mounts.find((m) => m.target === STORAGE_MOUNT);
  return mount?.hostPath === undefined ? mount?.volume : undefined;
}
