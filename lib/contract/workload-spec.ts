/**
 * A workload spec: everything a driver (local processes, Docker, Swarm) or the Terraform synth needs
 * to run one workload. Topology produces these; nothing downstream decides *what* runs.
 */
import type { ServiceExposure, Toleration } from '../model/manifest';

export type WorkloadRole = 'keys' | 'ingest' | 'origin' | 'balancer';

/** Where the account storage is mounted inside a container; the local driver points it elsewhere. */
export const STORAGE_MOUNT = '/var/lib/livestack';

export interface PortSpec {
  /** Port inside the container; the same number is published, so URLs look alike everywhere. */
  readonly containerPort: number;
  readonly hostPort: number;
  readonly hostIp: string;
  /** `udp` for SRT ingest, `tcp` for everything else. */
  readonly protocol: 'tcp' | 'udp';
}

export interface MountSpec {
  /** Docker volume name. */
  readonly volume: string;
  /**
   * A shared filesystem every host mounts at this path (NFS, EFS, CephFS): bind-mounted instead of the
   * volume, so a workload sees the same storage on whichever host it runs.
   */
  readonly hostPath?: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface HealthCheckSpec {
  /** Docker `CMD` form, run inside the workload. */
  readonly command: string[];
  /** HTTP URL a local supervisor can probe directly (same check, no exec). */
  readonly httpUrl: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly startPeriodSeconds: number;
}

/** Requests and limits of a container on a cluster engine (Kubernetes quantities). */
export interface ResourceSpec {
  readonly requests: { readonly cpu?: string; readonly memory?: string };
  readonly limits: { readonly cpu?: string; readonly memory?: string };
}

/**
 * How a workload runs on a Kubernetes cluster, decided by topology from the account's platform. Part of
 * the spec hash, except `service` and `autoscaling`, which an engine changes in place (no pod restarts).
 */
export interface KubernetesWorkloadSpec {
  readonly namespace: string;
  /** The ReadWriteMany claim that holds the account storage (what `mounts` name as a volume on Docker). */
  readonly claimName: string;
  readonly resources: ResourceSpec;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly Toleration[];
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly imagePullSecrets: readonly string[];
  /** The Service in front of the published ports. */
  readonly service: ServiceExposure;
  /** Origins: a HorizontalPodAutoscaler between `replicas` and `maxReplicas`. */
  readonly autoscaling?: { readonly maxReplicas: number; readonly targetCpuUtilizationPercent: number };
}

/**
 * How a workload runs as a Docker Swarm service, decided by topology from the account's platform. Part
 * of the spec hash except what swarm changes without touching tasks (the replica count, outside it).
 */
export interface SwarmWorkloadSpec {
  /** `ingress`: routing mesh and a virtual IP; `host`: the task's node answers, DNS round robin (`dnsrr`). */
  readonly publishMode: 'ingress' | 'host';
  readonly placement: {
    readonly constraints: readonly string[];
    /** Node labels tasks spread over (`spread` preferences). */
    readonly spreadOver: readonly string[];
    readonly maxReplicasPerNode?: number;
  };
  /**
   * Order of a rolling update: `start-first` (origins: a new replica serves before an old one stops) or
   * `stop-first` (an ingest: two ingests must never write one channel).
   */
  readonly updateOrder: 'start-first' | 'stop-first';
  /** Reservations (requests) and limits, from measured costs: the scheduler packs channels by them. */
  readonly resources: ResourceSpec;
}

/** What restarting or removing a workload interrupts, for plan disruption flags. */
export type Disruption = 'live-ingest' | 'playback' | 'key-delivery';

export interface WorkloadSpec {
  /** Deterministic, DNS-safe: `ls-<account>-<role>[-<owner>][-<replica>]`. */
  readonly name: string;
  readonly role: WorkloadRole;
  readonly account: string;
  /** Construct path of the construct this workload serves. */
  readonly owner: string;
  readonly image: string;
  /** When the image is built from livestack's Dockerfile: its base image (a change rebuilds and replaces). */
  readonly imageBuild?: { readonly baseImage: string };
  /** argv; argv[0] is `livestack`, which the local driver maps to this package's CLI. */
  readonly command: string[];
  /** Plain environment (no secrets). */
  readonly env: Record<string, string>;
  /**
   * Secret environment: env name -> sensitive Terraform variable name. Synth renders `${var.NAME}`;
   * the runtime reads `TF_VAR_NAME` from its own environment. Values never enter specs, plans or logs.
   */
  readonly secretEnv: Record<string, string>;
  readonly ports: PortSpec[];
  /** Internal ports (not published) the workload listens on, e.g. an origin replica behind a balancer. */
  readonly internalPorts: number[];
  readonly mounts: MountSpec[];
  /** Docker network of the account; the workload's name is its alias there (balancers reach replicas by it). */
  readonly network: string;
  readonly healthCheck: HealthCheckSpec;
  /**
   * Identical copies of the workload a cluster engine runs behind one address (a scaled origin on
   * Kubernetes); absent: one. Not part of the spec hash: scaling is done in place.
   */
  readonly replicas?: number;
  /** Present when the account runs on Kubernetes. */
  readonly kubernetes?: KubernetesWorkloadSpec;
  /** Present when the account runs on Docker Swarm. */
  readonly swarm?: SwarmWorkloadSpec;
  /** Includes the spec hash and live hash. */
  readonly labels: Record<string, string>;
  /** Reloaded in place when it changes (no restart); undefined when the workload has none. */
  readonly liveConfig?: unknown;
  readonly disruption: Disruption;
  /** Player- or encoder-facing URLs this workload provides, for plan flags and `up`. */
  readonly urls: string[];
  /** Hash of everything above except labels and liveConfig: a change means replace. */
  readonly specHash: string;
  /**
   * Hash of each part of the spec by dotted path (`image`, `env.LIVESTACK_WORKLOAD`,
   * `config.channel.encoding`, ...); `specHash` is their hash. Plans name the parts that differ.
   */
  readonly specParts: Record<string, string>;
  /** Hash of liveConfig: a change alone means update in place. */
  readonly liveHash: string;
}
