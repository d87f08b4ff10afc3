import type { Platform as PlatformManifest, ServiceExposure, ServiceType, Toleration } from '../manifest';

/** How one kind of workload's published ports are reached on Kubernetes. */
export interface ServiceOptions {
  /** Service type. @default 'LoadBalancer' */
  readonly type?: ServiceType;
  /** Annotations of the Service (e.g. a cloud load balancer's settings). @default - none */
  readonly annotations?: Record<string, string>;
}

/** CPU (`"500m"`, `"1.5"`) and memory (`"512Mi"`) of a container. */
export interface ResourceAmounts {
  readonly cpu?: string;
  readonly memory?: string;
}

/** Requests and limits of one kind of workload; what is set replaces the derived default, field by field. */
export interface ResourceOptions {
  /** @default - derived from the measured cost (ingest: per ladder rung; origin: per replica) */
  readonly requests?: ResourceAmounts;
  /** @default - memory twice the request, no CPU limit (a throttled transcoder drops frames) */
  readonly limits?: ResourceAmounts;
}

/** Options of `Platform.kubernetes()`: what a platform engineer sets for a cluster. */
export interface KubernetesOptions {
  /** Namespace of every object of the account. @default - `livestack-<account>` */
  readonly namespace?: string;
  /** Render the Namespace object too; set false when the cluster's owners create namespaces. @default true */
  readonly createNamespace?: boolean;
  /** The account storage: one ReadWriteMany PersistentVolumeClaim every workload mounts. */
  readonly storage?: {
    /** A storage class that provides ReadWriteMany volumes (NFS, EFS, CephFS, Azure Files). @default - the cluster's default class */
    readonly storageClassName?: string;
    /** @default '100Gi' */
    readonly size?: string;
  };
  /** Pulling the runtime image (`MediaAccount.runtimeImage`, which must name an image the cluster can pull). */
  readonly image?: {
    /** @default 'IfNotPresent' */
    readonly pullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
    /** Names of docker-registry Secrets in the namespace. @default - none */
    readonly pullSecrets?: string[];
  };
  /** Nodes the pods may run on. @default - any */
  readonly nodeSelector?: Record<string, string>;
  /** Taints the pods tolerate. @default - none */
  readonly tolerations?: Toleration[];
  /** Services of the published ports: every endpoint, ingest and the key service, with overrides by name. */
  readonly services?: {
    /** @default - { type: 'LoadBalancer' } */
    readonly endpoint?: ServiceOptions;
    /** @default - { type: 'LoadBalancer' } */
    readonly ingest?: ServiceOptions;
    /** @default - { type: 'LoadBalancer' } */
    readonly keys?: ServiceOptions;
    /** By streaming endpoint name, e.g. `{ main: { type: 'NodePort' } }`. @default - none */
    readonly endpoints?: Record<string, ServiceOptions>;
    /** By live channel name. @default - none */
    readonly channels?: Record<string, ServiceOptions>;
  };
  /** Requests and limits by kind of workload. @default - derived from measured costs (see BENCHMARKS.md) */
  readonly resources?: {
    readonly ingest?: ResourceOptions;
    readonly origin?: ResourceOptions;
    readonly keys?: ResourceOptions;
  };
  /**
   * A HorizontalPodAutoscaler per streaming endpoint, between max(1, scaleUnits) and `maxReplicas`
   * origin replicas. @default - none: each endpoint runs exactly max(1, scaleUnits) replicas
   */
  readonly originAutoscaling?: {
    readonly maxReplicas: number;
    /** @default 70 */
    readonly targetCpuUtilizationPercent?: number;
  };
}

/** Options of `Platform.swarm()`: how services of the account are published and placed on a Docker Swarm. */
export interface SwarmOptions {
  /**
   * How published ports reach the tasks. `ingress`: swarm's routing mesh, every node answers on every
   * published port and balances over the tasks (needs IPVS in the nodes' kernels). `host`: only the
   * node running a task answers on its port, and services resolve by DNS round robin (`dnsrr`); put a
   * load balancer or a DNS name over the nodes' addresses in front.
   * @default 'ingress'
   */
  readonly publishMode?: 'ingress' | 'host';
  /** Where tasks may run and how they spread. */
  readonly placement?: {
    /** Swarm placement constraints of every service, e.g. `['node.labels.media==true']`. @default - any node */
    readonly constraints?: string[];
    /** Node labels to spread each service's tasks over, e.g. `['node.labels.zone']`. @default - none (swarm spreads over nodes anyway) */
    readonly spreadOver?: string[];
    /** At most this many tasks of one service per node (1: origin replicas on distinct hosts). @default - no bound */
    readonly maxReplicasPerNode?: number;
  };
}

/**
 * Where an account's workloads run: one Docker host (Terraform's Docker provider, or the livestack
 * runtime), or a Kubernetes cluster (`@cdktf/provider-kubernetes` resources, or plain YAML for GitOps).
 */
export class Platform {
  /** One Docker host (or the local driver): today's default. */
  static docker(): Platform { return new Platform('docker', {}); }

  /** A Kubernetes cluster. Every option has a default; see KubernetesOptions. */
  static kubernetes(options: KubernetesOptions = {}): Platform { return new Platform('kubernetes', options); }

  /**
   * A Docker Swarm: one service per workload (origin replicas = scale units), Docker secrets, rolling
   * updates. Run it with `livestack apply --driver swarm` against a manager, or `cdktf deploy`
   * (`docker_service` resources). Several hosts need shared storage (`MediaAccount` `storage.shared`).
   */
  static swarm(options: SwarmOptions = {}): Platform { return new Platform('swarm', options); }

  /** The platform in manifest form, every default filled in (the options are checked first, by the account). */
  toManifest(accountName: string): PlatformManifest {
    if (this.kind === 'docker') return { kind: 'docker' };
    if (this.kind === 'swarm') {
      const s = this.options as SwarmOptions;
      return {
        kind: 'swarm',
        publishMode: s.publishMode ?? 'ingress',
        placement: {
          constraints: [...(s.placement?.constraints ?? [])],
          spreadOver: [...(s.placement?.spreadOver ?? [])],
          ...(s.placement?.maxReplicasPerNode !== undefined ? { maxReplicasPerNode: s.placement.maxReplicasPerNode } : {}),
        },
      };
    }
    const o = this.options as KubernetesOptions;
    const exposure = (given: ServiceOptions | undefined): ServiceExposure => ({ type: given?.type ?? 'LoadBalancer', annotations: { ...given?.annotations } });
    const byName = (given: Record<string, ServiceOptions> | undefined) => Object.fromEntries(Object.entries(given ?? {}).map(([name, s]) => [name, exposure(s)]));
    return {
      kind: 'kubernetes',
      namespace: o.namespace ?? `livestack-${accountName}`,
      createNamespace: o.createNamespace ?? true,
      storage: { ...(o.storage?.storageClassName !== undefined ? { storageClassName: o.storage.storageClassName } : {}), size: o.storage?.size ?? '100Gi' },
      image: { pullPolicy: o.image?.pullPolicy ?? 'IfNotPresent', pullSecrets: [...(o.image?.pullSecrets ?? [])] },
      nodeSelector: { ...o.nodeSelector },
      tolerations: (o.tolerations ?? []).map((t) => ({ ...t })),
      services: {
        endpoint: exposure(o.services?.endpoint),
        ingest: exposure(o.services?.ingest),
        keys: exposure(o.services?.keys),
        endpoints: byName(o.services?.endpoints),
        channels: byName(o.services?.channels),
      },
      resources: JSON.parse(JSON.stringify(o.resources ?? {})),
      ...(o.originAutoscaling ? {
        originAutoscaling: { maxReplicas: o.originAutoscaling.maxReplicas, targetCpuUtilizationPercent: o.originAutoscaling.targetCpuUtilizationPercent ?? 70 },
      } : {}),
    };
  }

  private constructor(
    readonly kind: 'docker' | 'kubernetes' | 'swarm',
    /** The options as given (checked by the account that uses them). */
    readonly options: KubernetesOptions | SwarmOptions,
  ) {}
}
