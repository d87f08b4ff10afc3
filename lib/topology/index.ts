/**
 * Topology: manifest -> workload specs. Pure and deterministic (same manifest, byte-identical specs),
 * so the Terraform synth and the runtime drivers cannot drift apart: both render these specs.
 */
import { AccountManifest, ChannelManifest, EndpointManifest, KubernetesPlatform, Manifest, ServiceExposure, SwarmPlatform } from '../model/manifest';
import { contentHash } from '../util/stable-json';
import {
  BalancerConfig, IngestConfig, IngestLiveConfig, KeyServiceConfig, OriginConfig, OriginLiveConfig, ServedLocator,
} from '../contract/workload-config';
import { Disruption, KubernetesWorkloadSpec, ResourceSpec, STORAGE_MOUNT, SwarmWorkloadSpec, WorkloadRole, WorkloadSpec } from '../contract/workload-spec';
import { ENV } from '../contract/workload-env';
import { LABELS } from '../contract/labels';
import { InternalPortAllocator } from './internal-ports';
import { endpointBaseUrl, keyDeliveryBaseUrl, rtmpIngestUrl, srtIngestUrl } from '../model/public-urls';
import { secretEnvName } from '../contract/workload-env';
import { workloadName } from '../contract/workload-names';
import { ingestResources, keysResources, originResources } from './resource-requests';

/** The workload specs of a whole manifest, sorted by name. */
export function topology(manifest: Manifest): WorkloadSpec[] {
  const ports = new InternalPortAllocator(manifest);
  const specs = manifest.accounts.flatMap((account) => accountWorkloads(account, ports));
  return specs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function accountWorkloads(account: AccountManifest, ports: InternalPortAllocator): WorkloadSpec[] {
  const specs: WorkloadSpec[] = [keyService(account)];
  for (const channel of account.channels) {
    if (channel.state === 'running') specs.push(ingest(account, channel, ports));
  }
  for (const endpoint of account.endpoints) {
    if (endpoint.state !== 'running') continue;
    const platform = account.platform;
    specs.push(...(platform?.kind === 'kubernetes' ? [clusterOrigin(account, platform, endpoint)]
      : platform?.kind === 'swarm' ? [swarmOrigin(account, platform, endpoint)]
        : origin(account, endpoint, ports)));
  }
  return specs;
}

function keyService(account: AccountManifest): WorkloadSpec {
  const policies = account.keyPolicies;
  const secretEnv: Record<string, string> = {};
  for (const policy of policies) {
    if (policy.restriction.type !== 'token') continue;
    for (const key of policy.restriction.keys) {
      if (key.kind === 'symmetric' && key.secret.kind === 'variable') secretEnv[secretEnvName(key.secret.id)] = key.secret.name;
    }
  }
  const config: KeyServiceConfig = {
    kind: 'keys',
    account: account.name,
    port: account.keyDelivery.port,
    allowList: account.keyDelivery.allowList,
    corsAllowedOrigins: [...new Set(account.endpoints.flatMap((e) => e.corsAllowedOrigins))].sort(),
    policies,
    keys: protectedLocators(account),
  };
  const keyPort = account.keyDelivery.port;
  const name = workloadName(account.name, 'keys');
  const k8s = account.platform?.kind === 'kubernetes' ? account.platform : undefined;
  return build(account, {
    name,
    role: 'keys',
    owner: account.path,
    config,
    secretEnv,
    publishedPorts: [tcp(keyPort)],
    internalPorts: [],
    healthPort: keyPort,
    disruption: 'key-delivery',
    urls: [`${k8s ? `http://${serviceHost(name, k8s)}:${keyPort}` : endpointBaseUrl(account.bindAddress, keyPort)}/keys/`],
    ...(k8s ? { kubernetes: clusterSettings(account.name, k8s, keysResources(k8s.resources.keys), k8s.services.keys) } : {}),
    ...(account.platform?.kind === 'swarm' ? { swarm: swarmSettings(account.platform, 'start-first', keysResources(undefined)) } : {}),
  });
}

function ingest(account: AccountManifest, channel: ChannelManifest, ports: InternalPortAllocator): WorkloadSpec {
  const name = workloadName(account.name, 'ingest', channel.name);
  const controlPort = ports.portFor(name);
  const { programs, ...channelOnly } = channel;
  const config: IngestConfig = { kind: 'ingest', account: account.name, channel: channelOnly, controlPort };
  const liveConfig: IngestLiveConfig = { programs };
  const secretEnv: Record<string, string> = {};
  if (channel.streamKey.kind === 'variable') secretEnv[secretEnvName(channel.streamKey.id)] = channel.streamKey.name;
  return build(account, {
    name,
    role: 'ingest',
    owner: channel.path,
    config,
    liveConfig,
    secretEnv,
    publishedPorts: [
      ...(channel.protocols.includes('rtmp') ? [tcp(channel.port)] : []),
      ...(channel.srt ? [{ port: channel.srt.port, protocol: 'udp' as const }] : []),
    ],
    internalPorts: [controlPort],
    healthPort: controlPort,
    disruption: 'live-ingest',
    // Encoder-facing URLs, one a protocol: a plan flags a change of them (and of the protocols).
    urls: ingestUrls(channel, account.platform?.kind === 'kubernetes' ? serviceHost(name, account.platform) : account.bindAddress),
    ...(account.platform?.kind === 'kubernetes' ? {
      kubernetes: clusterSettings(account.name, account.platform, ingestResources(channel.encoding, account.platform.resources.ingest),
        account.platform.services.channels[channel.name] ?? account.platform.services.ingest),
    } : {}),
    // One ingest writes a channel: a rolling update stops the old task before the new one starts.
    ...(account.platform?.kind === 'swarm' ? { swarm: swarmSettings(account.platform, 'stop-first', ingestResources(channel.encoding, undefined)) } : {}),
  });
}

function origin(account: AccountManifest, endpoint: EndpointManifest, ports: InternalPortAllocator): WorkloadSpec[] {
  const replicas = Math.max(1, endpoint.scaleUnits);
  // The endpoint's base only: locator ids are derived at run time (contract/locator-ids.ts), never known here.
  const urls = account.locators.some((l) => l.endpoint === endpoint.name) ? [`${endpointBaseUrl(account.bindAddress, endpoint.port, endpoint.hostNames)}/`] : [];
  const liveConfig = originLive(account, endpoint);
  const balanced = replicas > 1;
  const specs: WorkloadSpec[] = [];
  for (let replica = 0; replica < replicas; replica++) {
    const name = workloadName(account.name, 'origin', endpoint.name, String(replica));
    const listenPort = balanced ? ports.portFor(name) : endpoint.port;
    const config: OriginConfig = {
      kind: 'origin',
      account: account.name,
      endpoint: originEndpoint(endpoint),
      replica,
      listenPort,
      keyDelivery: {
        port: account.keyDelivery.port,
        publicBaseUrl: account.keyDelivery.publicBaseUrl,
        baseUrl: keyDeliveryBaseUrl(account.bindAddress, account.keyDelivery.port, account.keyDelivery.publicBaseUrl, endpoint.hostNames),
      },
    };
    specs.push(build(account, {
      name,
      role: 'origin',
      owner: endpoint.path,
      config,
      liveConfig,
      secretEnv: {},
      publishedPorts: balanced ? [] : [tcp(endpoint.port)],
      internalPorts: balanced ? [listenPort] : [],
      healthPort: listenPort,
      disruption: 'playback',
      urls: balanced ? [] : urls,
    }));
  }
  if (balanced) {
    const config: BalancerConfig = {
      kind: 'balancer',
      account: account.name,
      endpoint: endpoint.name,
      listenPort: endpoint.port,
      upstreams: specs.map((s) => ({ host: s.name, port: s.internalPorts[0] })),
    };
    specs.push(build(account, {
      name: workloadName(account.name, 'balancer', endpoint.name),
      role: 'balancer',
      owner: endpoint.path,
      config,
      secretEnv: {},
      publishedPorts: [tcp(endpoint.port)],
      internalPorts: [],
      healthPort: endpoint.port,
      disruption: 'playback',
      urls,
    }));
  }
  return specs;
}

/**
 * An endpoint on Kubernetes: one workload of max(1, scaleUnits) identical replicas on the endpoint's
 * port, behind the one Service the cluster balances over (no nginx balancer, no per-replica ports).
 * Scaling changes only the replica count, so it restarts nothing.
 */
function clusterOrigin(account: AccountManifest, platform: KubernetesPlatform, endpoint: EndpointManifest): WorkloadSpec {
  const host = endpoint.hostNames[0] ?? serviceHost(workloadName(account.name, 'origin', endpoint.name), platform);
  const settings = clusterSettings(account.name, platform, originResources(platform.resources.origin), platform.services.endpoints[endpoint.name] ?? platform.services.endpoint);
  // The cluster's name for the endpoint stands where the bind address would (rule kubernetes-key-url asks for a public URL anyway).
  return replicatedOrigin(account, endpoint, [host], `http://${host}:${endpoint.port}/`, {
    kubernetes: platform.originAutoscaling ? { ...settings, autoscaling: platform.originAutoscaling } : settings,
  });
}

/**
 * An endpoint on Docker Swarm: one service of max(1, scaleUnits) identical replicas on the endpoint's
 * port (swarm's routing mesh, or DNS round robin over host-mode ports, replaces the nginx balancer);
 * scaling changes only the replica count. Rolling updates start a new replica before stopping an old one.
 */
function swarmOrigin(account: AccountManifest, platform: SwarmPlatform, endpoint: EndpointManifest): WorkloadSpec {
  return replicatedOrigin(account, endpoint, endpoint.hostNames, `${endpointBaseUrl(account.bindAddress, endpoint.port, endpoint.hostNames)}/`, {
    swarm: swarmSettings(platform, 'start-first', originResources(undefined)),
  });
}

/** One origin workload of max(1, scaleUnits) interchangeable replicas on the endpoint's own port, as cluster engines run it. */
function replicatedOrigin(account: AccountManifest, endpoint: EndpointManifest, keyHosts: readonly string[], url: string, engine: Pick<WorkloadParts, 'kubernetes' | 'swarm'>): WorkloadSpec {
  const config: OriginConfig = {
    kind: 'origin',
    account: account.name,
    endpoint: originEndpoint(endpoint),
    // Replicas are interchangeable: each runs replica 0's config.
    replica: 0,
    listenPort: endpoint.port,
    keyDelivery: {
      port: account.keyDelivery.port,
      publicBaseUrl: account.keyDelivery.publicBaseUrl,
      baseUrl: keyDeliveryBaseUrl(account.bindAddress, account.keyDelivery.port, account.keyDelivery.publicBaseUrl, keyHosts),
    },
  };
  return build(account, {
    name: workloadName(account.name, 'origin', endpoint.name),
    role: 'origin',
    owner: endpoint.path,
    config,
    liveConfig: originLive(account, endpoint),
    secretEnv: {},
    publishedPorts: [tcp(endpoint.port)],
    internalPorts: [],
    healthPort: endpoint.port,
    disruption: 'playback',
    // The endpoint's base only: locator ids are derived at run time (contract/locator-ids.ts).
    urls: account.locators.some((l) => l.endpoint === endpoint.name) ? [url] : [],
    replicas: Math.max(1, endpoint.scaleUnits),
    ...engine,
  });
}

function swarmSettings(platform: SwarmPlatform, updateOrder: SwarmWorkloadSpec['updateOrder'], resources: ResourceSpec): SwarmWorkloadSpec {
  return { publishMode: platform.publishMode, placement: platform.placement, updateOrder, resources };
}

/** What an origin is told of its endpoint: everything but how many siblings it has (scaling restarts none). */
function originEndpoint(endpoint: EndpointManifest): OriginConfig['endpoint'] {
  const { scaleUnits: _scaleUnits, ...rest } = endpoint;
  return rest;
}

function originLive(account: AccountManifest, endpoint: EndpointManifest): OriginLiveConfig {
  const previews = account.channels
    .filter((c) => c.previewAllowList.length > 0)
    .map((c) => ({ channel: c.name, allowList: c.previewAllowList }));
  return { locators: servedLocators(account, endpoint.name), previews };
}

/** The in-cluster DNS name of a workload's Service. */
function serviceHost(name: string, platform: KubernetesPlatform): string {
  return `${name}.${platform.namespace}.svc`;
}

function clusterSettings(account: string, platform: KubernetesPlatform, resources: ResourceSpec, service: ServiceExposure): KubernetesWorkloadSpec {
  return {
    namespace: platform.namespace,
    claimName: `ls-${account}-storage`,
    resources,
    nodeSelector: platform.nodeSelector,
    tolerations: platform.tolerations,
    imagePullPolicy: platform.image.pullPolicy,
    imagePullSecrets: platform.image.pullSecrets,
    service,
  };
}

function servedLocators(account: AccountManifest, endpointName: string): ServedLocator[] {
  return account.locators
    .filter((l) => l.endpoint === endpointName)
    .map((l) => {
      const channel = account.channels.find((c) => c.name === l.channel);
      const program = channel?.programs.find((p) => p.name === l.program);
      const policy = account.deliveryPolicies.find((d) => d.name === l.deliveryPolicy);
      if (!channel || !program || !policy) {
        throw new Error(`topology: locator ${l.path} refers to a channel, program or delivery policy that does not exist (validate the manifest first)`);
      }
      return {
        ...(l.id !== undefined ? { id: l.id } : {}),
        name: l.name,
        channel: channel.name,
        program: program.name,
        assetName: program.assetName,
        manifestName: program.manifestName,
        archiveWindowSeconds: program.archiveWindowSeconds,
        protocols: policy.protocols,
        encryption: policy.encryption,
        start: l.start,
        end: l.end,
      };
    });
}

/** One content key per encrypted locator (envelope or common encryption), each under its policy's key policy. */
function protectedLocators(account: AccountManifest): KeyServiceConfig['keys'] {
  return account.locators.flatMap((l) => {
    const encryption = account.deliveryPolicies.find((d) => d.name === l.deliveryPolicy)?.encryption;
    return encryption && encryption.type !== 'none' ? [{ locator: l.name, ...(l.id !== undefined ? { id: l.id } : {}), keyPolicy: encryption.keyPolicy }] : [];
  });
}

interface PublishedPort {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

/** The URLs encoders call, one a protocol the channel takes, on `host` (a bind address or a cluster Service name). */
function ingestUrls(channel: ChannelManifest, host: string): string[] {
  return [
    ...(channel.protocols.includes('rtmp') ? [rtmpIngestUrl(host, channel.port)] : []),
    ...(channel.srt ? [srtIngestUrl(host, channel.srt.port, channel.name)] : []),
  ];
}

function tcp(port: number): PublishedPort {
  return { port, protocol: 'tcp' };
}

interface WorkloadParts {
  readonly name: string;
  readonly role: WorkloadRole;
  readonly owner: string;
  readonly config: unknown;
  readonly liveConfig?: unknown;
  readonly secretEnv: Record<string, string>;
  readonly publishedPorts: PublishedPort[];
  readonly internalPorts: number[];
  readonly healthPort: number;
  readonly disruption: Disruption;
  readonly urls: string[];
  readonly replicas?: number;
  readonly kubernetes?: KubernetesWorkloadSpec;
  readonly swarm?: SwarmWorkloadSpec;
}

function build(account: AccountManifest, parts: WorkloadParts): WorkloadSpec {
  const env: Record<string, string> = {
    [ENV.config]: JSON.stringify(parts.config),
    [ENV.storageDir]: STORAGE_MOUNT,
    [ENV.listenHost]: '0.0.0.0',
    [ENV.workloadName]: parts.name,
  };
  if (parts.liveConfig !== undefined) env[ENV.liveConfig] = JSON.stringify(parts.liveConfig);
  const healthUrl = `http://127.0.0.1:${parts.healthPort}/healthz`;
  const body = {
    name: parts.name,
    role: parts.role,
    account: account.name,
    owner: parts.owner,
    image: account.image,
    ...(account.imageBuild ? { imageBuild: { baseImage: account.imageBuild.baseImage } } : {}),
    command: ['livestack', 'dataplane', parts.role],
    secretEnv: parts.secretEnv,
    ports: parts.publishedPorts.map((p) => ({ containerPort: p.port, hostPort: p.port, hostIp: account.bindAddress, protocol: p.protocol })),
    internalPorts: parts.internalPorts,
    mounts: [{ volume: account.storage.volume, ...(account.storage.shared ? { hostPath: account.storage.shared.hostPath } : {}), target: STORAGE_MOUNT, readOnly: false }],
    network: account.network.name,
    healthCheck: {
      command: ['CMD', 'livestack', 'probe', healthUrl],
      httpUrl: healthUrl,
      intervalSeconds: 5,
      timeoutSeconds: 3,
      retries: 3,
      startPeriodSeconds: 10,
    },
    disruption: parts.disruption,
    urls: parts.urls,
    ...(parts.replicas !== undefined ? { replicas: parts.replicas } : {}),
    ...(parts.kubernetes ? { kubernetes: parts.kubernetes } : {}),
    ...(parts.swarm ? { swarm: parts.swarm } : {}),
  };
  // The live config travels in the env for the first boot, but must not count as a spec change; nor
  // must the URLs, which an origin derives from its locators (live config: a new locator must not
  // restart playback). The static config is hashed as the object it is, so a plan can name the member
  // that changed.
  const { [ENV.liveConfig]: _live, [ENV.config]: _config, ...plainEnv } = env;
  // Nor must what a cluster changes in place: the replica count, the Service, the autoscaler.
  const { urls: _urls, replicas: _replicas, kubernetes, ...hashed } = body;
  const { service: _service, autoscaling: _autoscaling, ...pod } = kubernetes ?? {};
  const specParts = partHashes({ ...hashed, env: plainEnv, config: parts.config, ...(kubernetes ? { kubernetes: pod } : {}) });
  const specHash = contentHash(specParts);
  const liveHash = contentHash(parts.liveConfig ?? null);
  return {
    ...body,
    env,
    liveConfig: parts.liveConfig,
    specHash,
    specParts,
    liveHash,
    labels: {
      [LABELS.managedBy]: 'livestack',
      [LABELS.account]: account.name,
      [LABELS.role]: parts.role,
      [LABELS.owner]: parts.owner,
      [LABELS.specHash]: specHash,
      [LABELS.liveHash]: liveHash,
    },
  };
}

/** How deep spec parts go: `config.channel.encoding` is one part, its ladder is inside it. */
const PART_DEPTH = 3;

/**
 * The hash of each part of a spec, by dotted path, down to PART_DEPTH levels of plain objects. The spec
 * hash is their hash; a plan explains a replace by naming the parts whose hashes differ, without
 * re-reading whole specs (10,000 workloads plan in well under 200 ms).
 */
function partHashes(view: Record<string, unknown>): Record<string, string> {
  const parts: Record<string, string> = {};
  const walk = (value: unknown, path: string, depth: number): void => {
    const keys = isPlainObject(value) ? Object.keys(value).sort() : [];
    if (depth === 0 || keys.length === 0) {
      if (value !== undefined) parts[path] = contentHash(value);
      return;
    }
    for (const key of keys) walk((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key, depth - 1);
  };
  walk(view, '', PART_DEPTH);
  return parts;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
