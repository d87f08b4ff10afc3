/**
 * Workload specs -> Kubernetes objects, described once for both outputs: the cdktf synth maps them onto
 * `@cdktf/provider-kubernetes` resources (lib/synth/kubernetes-resources.ts) and `livestack synth
 * --kubernetes-out` writes them as YAML (lib/synth/kubernetes-yaml.ts). Both are mechanical; every
 * decision (labels, selectors, probes, strategies, Services, policies, the claim) is made here.
 *
 * One spec is one Deployment: topology already renders an endpoint on Kubernetes as one origin spec of
 * `replicas` identical replicas on the endpoint port (the Service balances them; no nginx balancer).
 */
import { LABELS } from '../contract/labels';
import { ENV } from '../contract/workload-env';
import { KubernetesWorkloadSpec, WorkloadSpec } from '../contract/workload-spec';
import { workloadName } from '../contract/workload-names';
import { KubernetesPlatform, ServiceType, Toleration } from '../model/manifest';

/** Standard labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels). */
export const K8S_LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** Where a workload's live config is mounted from its ConfigMap (the cluster updates the file in place). */
export const LIVE_CONFIG_DIR = '/etc/livestack/live';
export const LIVE_CONFIG_KEY = 'live-config.json';

export interface ObjectMeta {
  /** Absent only in a pod template. */
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

export interface Probe {
  exec: { command: string[] };
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  initialDelaySeconds?: number;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  args: string[];
  env: EnvVar[];
  ports: { name: string; containerPort: number; protocol: 'TCP' | 'UDP' }[];
  volumeMounts: { name: string; mountPath: string; readOnly: boolean }[];
  readinessProbe: Probe;
  livenessProbe: Probe;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    strategy: { type: 'Recreate' } | { type: 'RollingUpdate'; rollingUpdate: { maxSurge: number; maxUnavailable: number } };
    template: {
      metadata: ObjectMeta;
      spec: {
        containers: Container[];
        volumes: ({ name: string; persistentVolumeClaim: { claimName: string } } | { name: string; configMap: { name: string } })[];
        nodeSelector?: Record<string, string>;
        tolerations?: Toleration[];
        imagePullSecrets?: { name: string }[];
        enableServiceLinks: boolean;
        shareProcessNamespace: boolean;
      };
    };
  };
}

export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec: {
    type: ServiceType;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: number; protocol: 'TCP' | 'UDP' }[];
    externalTrafficPolicy?: 'Local';
  };
}

export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data: Record<string, string>;
}

export interface PersistentVolumeClaim {
  apiVersion: 'v1';
  kind: 'PersistentVolumeClaim';
  metadata: ObjectMeta;
  spec: { accessModes: ['ReadWriteMany']; resources: { requests: { storage: string } }; storageClassName?: string };
}

export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: ['Ingress'];
    ingress: ({ from: { podSelector: { matchLabels: Record<string, string> } }[] } | { ports: { port: number; protocol: 'TCP' | 'UDP' }[] })[];
  };
}

export interface HorizontalPodAutoscaler {
  apiVersion: 'autoscaling/v2';
  kind: 'HorizontalPodAutoscaler';
  metadata: ObjectMeta;
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1'; kind: 'Deployment'; name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: { type: 'Resource'; resource: { name: 'cpu'; target: { type: 'Utilization'; averageUtilization: number } } }[];
  };
}

export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
}

export type KubernetesObject = Namespace | PersistentVolumeClaim | ConfigMap | Deployment | Service | NetworkPolicy | HorizontalPodAutoscaler;

/**
 * A Secret the workloads read by name, each key fed by a sensitive variable. It is never rendered with
 * a value: cdktf creates it from the Terraform variables, a GitOps repository gets it from outside
 * (kubectl, Sealed Secrets, External Secrets).
 */
export interface SecretSource {
  readonly namespace: string;
  readonly name: string;
  /** Key in the Secret -> sensitive variable that feeds it (the key is the variable's name). */
  readonly keys: readonly string[];
}

export interface KubernetesAccount {
  readonly name: string;
  readonly platform: KubernetesPlatform;
}

export interface KubernetesRendering {
  /** In apply order (namespace, claim, config maps, deployments, services, policies, autoscalers), then by name. */
  readonly objects: KubernetesObject[];
  readonly secrets: SecretSource[];
}

/** The order objects are applied in (and listed). */
export const KIND_ORDER: readonly KubernetesObject['kind'][] = ['Namespace', 'PersistentVolumeClaim', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy', 'HorizontalPodAutoscaler'];

/** The Secret of an account's variable-fed secrets. */
export function secretName(account: string): string {
  return workloadName(account, 'secrets');
}

/** The Kubernetes objects of one account's workload specs (every spec must carry `kubernetes`). */
export function kubernetesObjects(account: KubernetesAccount, specs: readonly WorkloadSpec[]): KubernetesRendering {
  const { platform } = account;
  const common = { [K8S_LABELS.partOf]: account.name, [K8S_LABELS.managedBy]: 'livestack', [LABELS.managedBy]: 'livestack', [LABELS.account]: account.name };
  const objects: KubernetesObject[] = [];
  if (platform.createNamespace) objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: platform.namespace, labels: common } });
  const claimName = specs[0]?.kubernetes?.claimName ?? `ls-${account.name}-storage`;
  objects.push({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claimName, namespace: platform.namespace, labels: common },
    spec: {
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: platform.storage.size } },
      ...(platform.storage.storageClassName !== undefined ? { storageClassName: platform.storage.storageClassName } : {}),
    },
  });
  const published = specs.flatMap((spec) => spec.ports.map((p) => ({ port: p.containerPort, protocol: protocolOf(p.protocol) })));
  objects.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: workloadName(account.name, 'ingress'), namespace: platform.namespace, labels: common },
    spec: {
      podSelector: { matchLabels: { [LABELS.account]: account.name } },
      policyTypes: ['Ingress'],
      // The account's pods reach each other on every port; everyone else only the published ones
      // (ingest RTMP, endpoint and key delivery HTTP), where nothing but the public servers listens.
      ingress: [
        { from: [{ podSelector: { matchLabels: { [LABELS.account]: account.name } } }] },
        ...(published.length > 0 ? [{ ports: published }] : []),
      ],
    },
  });
  for (const spec of specs) objects.push(...workloadObjects(spec, clusterOf(spec)));
  const secretKeys = [...new Set(specs.flatMap((s) => Object.values(s.secretEnv)))].sort();
  return {
    objects: objects.sort(byKindThenName),
    secrets: secretKeys.length > 0 ? [{ namespace: platform.namespace, name: secretName(account.name), keys: secretKeys }] : [],
  };
}

function clusterOf(spec: WorkloadSpec): KubernetesWorkloadSpec {
  if (!spec.kubernetes) throw new Error(`render: workload ${spec.name} has no Kubernetes settings (its account does not run on Kubernetes)`);
  return spec.kubernetes;
}

/** Labels that pick a workload's pods: stable for its lifetime (a selector cannot change). */
export function selectorLabels(spec: WorkloadSpec): Record<string, string> {
  return { [K8S_LABELS.name]: 'livestack', [K8S_LABELS.instance]: spec.name };
}

/**
 * Labels of a workload's objects: the standard ones and livestack's own. The owner (a construct path,
 * with `/`) is not a valid label value: it is an annotation. The pod template leaves out the live hash,
 * so a live config change does not roll the pods.
 */
export function workloadLabels(spec: WorkloadSpec, options: { pod?: boolean } = {}): Record<string, string> {
  const { [LABELS.owner]: _owner, [LABELS.liveHash]: liveHash, ...own } = spec.labels;
  return {
    ...selectorLabels(spec),
    [K8S_LABELS.component]: spec.role,
    [K8S_LABELS.partOf]: spec.account,
    [K8S_LABELS.managedBy]: 'livestack',
    ...own,
    ...(options.pod || liveHash === undefined ? {} : { [LABELS.liveHash]: liveHash }),
  };
}

function workloadAnnotations(spec: WorkloadSpec): Record<string, string> {
  return { [LABELS.owner]: spec.labels[LABELS.owner] ?? spec.owner };
}

function workloadObjects(spec: WorkloadSpec, cluster: KubernetesWorkloadSpec): KubernetesObject[] {
  const meta = (name: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): ObjectMeta => ({
    name, namespace: cluster.namespace, labels: extra.labels ?? workloadLabels(spec), annotations: { ...workloadAnnotations(spec), ...extra.annotations },
  });
  const objects: KubernetesObject[] = [];
  if (spec.liveConfig !== undefined) {
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(liveConfigMapName(spec.name)), data: { [LIVE_CONFIG_KEY]: JSON.stringify(spec.liveConfig) } });
  }
  objects.push(deployment(spec, cluster, meta(spec.name)));
  if (spec.ports.length > 0) {
    const exposed = cluster.service.type !== 'ClusterIP';
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(spec.name, { annotations: cluster.service.annotations }),
      spec: {
        type: cluster.service.type,
        selector: selectorLabels(spec),
        ports: spec.ports.map((p, i) => ({ name: portName(spec, i), port: p.containerPort, targetPort: p.containerPort, protocol: protocolOf(p.protocol) })),
        // Allow lists and per-address limits need the client's own address, not a node's.
        ...(exposed ? { externalTrafficPolicy: 'Local' as const } : {}),
      },
    });
  }
  if (cluster.autoscaling) {
    objects.push({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta(spec.name),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: spec.name },
        minReplicas: spec.replicas ?? 1,
        maxReplicas: cluster.autoscaling.maxReplicas,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cluster.autoscaling.targetCpuUtilizationPercent } } }],
      },
    });
  }
  return objects;
}

/** The ConfigMap that holds a workload's live config. */
export function liveConfigMapName(workload: string): string {
  return `${workload}-live`;
}

function deployment(spec: WorkloadSpec, cluster: KubernetesWorkloadSpec, metadata: ObjectMeta): Deployment {
  const probe = (initialDelaySeconds?: number): Probe => ({
    // The spec's own check (`livestack probe <health URL>`) inside the container: the ingest's control
    // server listens on loopback only, out of the kubelet's reach.
    exec: { command: spec.healthCheck.command.filter((part, i) => !(i === 0 && part === 'CMD')) },
    periodSeconds: spec.healthCheck.intervalSeconds,
    timeoutSeconds: spec.healthCheck.timeoutSeconds,
    failureThreshold: spec.healthCheck.retries,
    ...(initialDelaySeconds !== undefined ? { initialDelaySeconds } : {}),
  });
  const hasLive = spec.liveConfig !== undefined;
  const container: Container = {
    name: spec.role,
    image: spec.image,
    imagePullPolicy: cluster.imagePullPolicy,
    // Docker's CMD: the image's entrypoint stays in front, as on Docker.
    args: [...spec.command],
    env: containerEnv(spec),
    ports: spec.ports.map((p, i) => ({ name: portName(spec, i), containerPort: p.containerPort, protocol: protocolOf(p.protocol) })),
    volumeMounts: [
      ...spec.mounts.map((m) => ({ name: 'storage', mountPath: m.target, readOnly: m.readOnly })),
      ...(hasLive ? [{ name: 'live-config', mountPath: LIVE_CONFIG_DIR, readOnly: true }] : []),
    ],
    readinessProbe: probe(),
    livenessProbe: probe(spec.healthCheck.startPeriodSeconds),
    resources: {
      ...(Object.keys(cluster.resources.requests).length > 0 ? { requests: { ...cluster.resources.requests } } : {}),
      ...(Object.keys(cluster.resources.limits).length > 0 ? { limits: { ...cluster.resources.limits } } : {}),
    },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      // An autoscaler owns the count: a replica number here would reset it on every apply.
      ...(cluster.autoscaling ? {} : { replicas: spec.replicas ?? 1 }),
      selector: { matchLabels: selectorLabels(spec) },
      // Two ingests must never write one channel: the old pod is gone before the new one starts.
      strategy: spec.role === 'ingest' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: workloadLabels(spec, { pod: true }), annotations: workloadAnnotations(spec) },
        spec: {
          containers: [container],
          volumes: [
            { name: 'storage', persistentVolumeClaim: { claimName: cluster.claimName } },
            ...(hasLive ? [{ name: 'live-config', configMap: { name: liveConfigMapName(spec.name) } }] : []),
          ],
          ...(Object.keys(cluster.nodeSelector).length > 0 ? { nodeSelector: { ...cluster.nodeSelector } } : {}),
          ...(cluster.tolerations.length > 0 ? { tolerations: cluster.tolerations.map((t) => ({ ...t })) } : {}),
          ...(cluster.imagePullSecrets.length > 0 ? { imagePullSecrets: cluster.imagePullSecrets.map((name) => ({ name })) } : {}),
          // A namespace of a thousand channels would give every pod thousands of service variables.
          enableServiceLinks: false,
          // The pause container becomes PID 1 and reaps nginx's and ffmpeg's children: Docker's `init`.
          shareProcessNamespace: true,
        },
      },
    },
  };
}

/**
 * The spec's plain env sorted by name, the live config as a mounted file instead of a variable (a
 * changed variable would restart the pod), and secrets as references to the account's Secret.
 */
export function containerEnv(spec: WorkloadSpec): EnvVar[] {
  const plain = Object.entries(spec.env).filter(([name]) => name !== ENV.liveConfig).map(([name, value]) => ({ name, value }));
  if (spec.liveConfig !== undefined) plain.push({ name: ENV.liveConfigFile, value: `${LIVE_CONFIG_DIR}/${LIVE_CONFIG_KEY}` });
  const secret = Object.entries(spec.secretEnv).map(([name, variable]) => ({ name, valueFrom: { secretKeyRef: { name: secretName(spec.account), key: variable } } }));
  return [...plain, ...secret].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function portName(spec: WorkloadSpec, index: number): string {
  const base = spec.role === 'ingest' ? 'rtmp' : 'http';
  return index === 0 ? base : `${base}-${index}`;
}

function protocolOf(protocol: 'tcp' | 'udp'): 'TCP' | 'UDP' {
  return protocol === 'udp' ? 'UDP' : 'TCP';
}

function byKindThenName(a: KubernetesObject, b: KubernetesObject): number {
  const rank = KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
  if (rank !== 0) return rank;
  const [x, y] = [a.metadata.name ?? '', b.metadata.name ?? ''];
  return x < y ? -1 : x > y ? 1 : 0;
}
