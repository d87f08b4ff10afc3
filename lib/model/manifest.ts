/**
 * The desired-state manifest: the one document that constructs produce, synth writes beside
 * `cdk.tf.json`, and topology, runtime and data plane read. Versioned by `apiVersion`; every
 * reader validates it with these schemas before acting, so a malformed file changes nothing.
 *
 * Units are explicit in field names (`...Seconds`, `...Kbps`); times are ISO 8601 strings.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { publicJwkProblems, publicKeyPemProblems } from './public-keys';

export const MANIFEST_API_VERSION = 'livestack/v1';

/** A DNS label (RFC 1123): lower-case letters, digits and '-', 1-63 chars, no leading/trailing '-'. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const dnsLabel = z.string().regex(DNS_LABEL, 'must be a DNS label: 1-63 of a-z, 0-9 and "-", not starting or ending with "-"');

/** An IPv4 or IPv6 address or CIDR block, e.g. `127.0.0.1`, `10.0.0.0/8`, `::1/128`. */
export const cidr = z.string().refine((value) => isCidr(value), 'must be an IPv4/IPv6 address or CIDR block such as 10.0.0.0/8');

/** An address node:net parses (so `dead:beef` or `1.2.3` is refused), with an optional prefix length in range. */
export function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  if (rest.length > 0) return false;
  const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
  if (max === 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
}

/** An IP address that node:net parses: `127.0.0.1`, `0.0.0.0`, `::1` (no host name, no port). */
export const ipAddress = z.string().refine((value) => isIPv4(value) || isIPv6(value), 'an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::1 (no host name, no port)');

/** An http(s) URL without credentials, query or fragment: what may be written into playlists. */
export const publicHttpUrl = z.string().refine((value) => isHttpUrl(value, false), 'an absolute http(s) URL without credentials, query or fragment, such as https://keys.example.com');
/** An http(s) URL without credentials or fragment (a query is allowed): where a service fetches from. */
export const fetchHttpUrl = z.string().refine((value) => isHttpUrl(value, true), 'an absolute http(s) URL without credentials, spaces or fragment, such as https://idp.example.com/.well-known/jwks.json');

/** Whether `value` is an absolute http(s) URL with a host, no credentials, no fragment, no blanks or quotes. */
export function isHttpUrl(value: string, queryAllowed: boolean): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === ''
    && (queryAllowed || (url.search === '' && !value.includes('?'))) && url.hash === '' && !value.includes('#') && !/[\s"'<>\\]/.test(value) && url.hostname !== '';
}

export const port = z.number().int().min(1).max(65535);
export const runState = z.enum(['running', 'stopped']);
export type RunState = z.infer<typeof runState>;

/**
 * Where a secret comes from. The clear value never appears in the manifest:
 * - `generated`: created at run time by the workload that needs it, stored 0600 under `<storage>/secrets/<id>`;
 * - `variable`: a sensitive Terraform variable; Terraform interpolates `${var.NAME}`, the runtime reads `TF_VAR_NAME`;
 * - `hash`: a stream key given in clear in code, kept only as a salted scrypt hash (enough to verify a publisher).
 */
export const secretRef = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('generated'), id: z.string().regex(/^[a-z0-9-]+$/) }),
  z.object({ kind: z.literal('variable'), id: z.string().regex(/^[a-z0-9-]+$/), name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/) }),
  z.object({
    kind: z.literal('hash'),
    id: z.string().regex(/^[a-z0-9-]+$/),
    algorithm: z.literal('scrypt'),
    salt: z.string().min(8),
    hash: z.string().min(16),
    cost: z.number().int().min(1024),
  }),
]);
export type SecretRef = z.infer<typeof secretRef>;

/**
 * A stream key encoders put at the end of the ingest URL: URL-safe characters only (no `/` or `?`,
 * which would split the RTMP stream name), and short enough for nginx-rtmp, which cuts stream names at
 * 255 bytes — a longer key could never publish.
 */
export const STREAM_KEY = /^[A-Za-z0-9._~-]{8,254}$/;
export const STREAM_KEY_RULE = '8 to 254 of A-Z, a-z, 0-9, ".", "_", "~" and "-" (what fits unescaped at the end of an RTMP URL)';

/** Key frame interval bounds, in seconds: the same for construct props and manifests. */
export const KEY_FRAME_SECONDS = { min: 0.5, max: 20 } as const;
/** Segment duration bounds, in seconds. */
export const SEGMENT_SECONDS = { min: 1, max: 60 } as const;

/**
 * On a channel that takes SRT the stream key is also the SRT passphrase, which SRT bounds to 10-79
 * characters (SRTO_PASSPHRASE); the key never crosses the network, it derives the encryption key.
 */
export const SRT_STREAM_KEY = /^[A-Za-z0-9._~-]{10,79}$/;
export const SRT_STREAM_KEY_RULE = '10 to 79 of A-Z, a-z, 0-9, ".", "_", "~" and "-" (on a channel with SRT the stream key is the SRT passphrase, which SRT bounds to 10-79 characters)';

/** Ingest protocols a channel can take. */
export const ingestProtocol = z.enum(['rtmp', 'srt']);
export type IngestProtocol = z.infer<typeof ingestProtocol>;

/** AES key lengths SRT encrypts with, in bytes (pbkeylen): AES-128, AES-192, AES-256. */
export const srtKeyLength = z.union([z.literal(16), z.literal(24), z.literal(32)]);

/**
 * SRT latency bounds and default, in ms: libsrt's default (120 ms) and what its receive buffer is sized
 * for (lib/dataplane/ingest/native/srt-listener.c). Below 20 ms no loss is recovered over any real link.
 */
export const SRT_LATENCY_MS = { min: 20, max: 8000, default: 120 } as const;

/** The SRT side of a channel (present exactly when `protocols` includes `srt`). */
export const srtIngest = z.object({
  /** UDP port encoders call. */
  port,
  /** The channel's AES key length in bytes (pbkeylen); encoders set the same or none. */
  keyLength: srtKeyLength,
  /**
   * SRT latency (SRTO_LATENCY): how long the link asks for a lost packet again before it gives it up;
   * the stream reaches the transcoder this much later. An encoder may negotiate more.
   */
  latencyMs: z.number().int().min(SRT_LATENCY_MS.min).max(SRT_LATENCY_MS.max),
});
export type SrtIngest = z.infer<typeof srtIngest>;

export const rendition = z.object({
  /** Rendition name, also its folder name: e.g. `720p`. */
  name: dnsLabel,
  width: z.number().int().min(16).max(7680).refine((n) => n % 2 === 0, 'must be even (4:2:0 chroma)'),
  height: z.number().int().min(16).max(4320).refine((n) => n % 2 === 0, 'must be even (4:2:0 chroma)'),
  videoBitrateKbps: z.number().int().min(50).max(100_000),
  /** H.264 profile. */
  profile: z.enum(['baseline', 'main', 'high']),
});
export type Rendition = z.infer<typeof rendition>;

export const encoding = z.discriminatedUnion('type', [
  z.object({ type: z.literal('passthrough') }),
  z.object({
    type: z.literal('standard'),
    preset: z.enum(['Default720p', 'Default1080p', 'Custom']),
    ladder: z.array(rendition).min(1).max(8),
    audioBitrateKbps: z.number().int().min(32).max(512),
    /** x264 speed preset; the ladder is real-time only with fast presets on small machines. */
    speedPreset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']),
  }),
]);
export type Encoding = z.infer<typeof encoding>;

/** How far behind the live edge players run: `standard` HLS/DASH, or `low` (LL-HLS, RFC 8216bis). */
export const latencyMode = z.enum(['standard', 'low']);
export type LatencyMode = z.infer<typeof latencyMode>;

export const program = z.object({
  name: dnsLabel,
  path: z.string(),
  /** The asset the program records into; unique in its account. */
  assetName: dnsLabel,
  /** Base name of the manifests a locator serves: `<manifestName>.m3u8`, `<manifestName>.mpd`. */
  manifestName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  archiveWindowSeconds: z.number().int().min(300).max(90_000),
  /** Declared run state; a running program records only within its schedule (start, end). */
  state: runState,
  /** Records only from this time on (ISO 8601 with zone); absent: from when it is declared running. */
  start: z.string().datetime({ offset: true }).optional(),
  /** Stops recording at this time, as if declared stopped (the asset becomes video on demand). */
  end: z.string().datetime({ offset: true }).optional(),
});
export type ProgramManifest = z.infer<typeof program>;

export const channel = z.object({
  name: dnsLabel,
  path: z.string(),
  /** Ingest protocols, each once. */
  protocols: z.array(ingestProtocol).min(1),
  /** The RTMP port (TCP); also SRT's (UDP) unless `srt.port` says otherwise. */
  port,
  srt: srtIngest.optional(),
  streamKey: secretRef,
  ingestAllowList: z.array(cidr),
  previewAllowList: z.array(cidr),
  keyFrameIntervalSeconds: z.number().min(KEY_FRAME_SECONDS.min).max(KEY_FRAME_SECONDS.max),
  segmentDurationSeconds: z.number().min(SEGMENT_SECONDS.min).max(SEGMENT_SECONDS.max),
  encoding,
  /** `low`: LL-HLS (partial segments, blocking playlist reload); absent means `standard`. */
  latency: latencyMode.optional(),
  state: runState,
  programs: z.array(program),
});
export type ChannelManifest = z.infer<typeof channel>;

export const endpoint = z.object({
  name: dnsLabel,
  path: z.string(),
  port,
  scaleUnits: z.number().int().min(0).max(64),
  corsAllowedOrigins: z.array(z.string()),
  allowList: z.array(cidr),
  hostNames: z.array(z.string()),
  /** Proxies in front of the endpoint whose X-Forwarded-* headers are believed (absent in older manifests: none). */
  trustedProxies: z.array(cidr).default([]),
  maxCacheAgeSeconds: z.number().int().min(0).max(31_536_000),
  state: runState,
});
export type EndpointManifest = z.infer<typeof endpoint>;

/** Bounds and default of a token policy's maximum token lifetime, in seconds: 1 minute to 1 year, 24 h by default. */
export const TOKEN_LIFETIME_SECONDS = { min: 60, max: 31_536_000, default: 86_400 } as const;

export const jwtAlgorithm = z.enum(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);
export type JwtAlgorithm = z.infer<typeof jwtAlgorithm>;

export const verificationKey = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('symmetric'), kid: z.string().optional(), secret: secretRef }),
  z.object({ kind: z.literal('publicKeyPem'), kid: z.string().optional(), pem: z.string().includes('-----BEGIN PUBLIC KEY-----').refine((pem) => publicKeyPemProblems(pem).length === 0, 'a public key in PEM (RSA of 2048 bits or more, EC or Ed25519)') }),
  z.object({ kind: z.literal('jwks'), jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown()).refine((jwk) => publicJwkProblems(jwk).length === 0, 'a public JWK (RSA of 2048 bits or more, EC or OKP) without private members')).min(1) }) }),
  z.object({ kind: z.literal('jwksUrl'), url: fetchHttpUrl }),
]);
export type VerificationKey = z.infer<typeof verificationKey>;

export const keyRestriction = z.discriminatedUnion('type', [
  z.object({ type: z.literal('open') }),
  z.object({
    type: z.literal('token'),
    issuer: z.string().min(1),
    audience: z.string().min(1),
    algorithms: z.array(jwtAlgorithm).min(1),
    keys: z.array(verificationKey).min(1),
    /** Claims that must be present; a non-null value must also match exactly. */
    requiredClaims: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    clockSkewSeconds: z.number().int().min(0).max(300),
    /** Tokens without `exp` are refused (manifests written before this field: true). */
    requireExp: z.boolean().default(true),
    /** Longest a token may be valid: `exp` at most this far after `iat`, and after the moment it is checked. */
    maxLifetimeSeconds: z.number().int().min(TOKEN_LIFETIME_SECONDS.min).max(TOKEN_LIFETIME_SECONDS.max).default(TOKEN_LIFETIME_SECONDS.default),
  }),
  z.object({ type: z.literal('ip'), allowList: z.array(cidr).min(1) }),
]);
export type KeyRestriction = z.infer<typeof keyRestriction>;

export const keyPolicy = z.object({
  name: dnsLabel,
  path: z.string(),
  keyType: z.literal('aes-128'),
  restriction: keyRestriction,
});
export type KeyPolicyManifest = z.infer<typeof keyPolicy>;

/** DRM systems of common encryption (model/values/delivery-encryption.ts: only ClearKey is provided). */
export const keySystems = z.array(z.literal('clearkey')).min(1);

/**
 * How a delivery policy encrypts: nothing, HLS AES-128 envelope, or common encryption (`cenc`:
 * AES-CTR, `cbcs`: AES-CBC pattern) with the key delivered through the named DRM systems.
 */
export const deliveryEncryption = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('envelope'), keyPolicy: dnsLabel }),
  z.object({ type: z.literal('cenc'), keyPolicy: dnsLabel, keySystems }),
  z.object({ type: z.literal('cbcs'), keyPolicy: dnsLabel, keySystems }),
]);
export type DeliveryEncryptionManifest = z.infer<typeof deliveryEncryption>;

export const deliveryPolicy = z.object({
  name: dnsLabel,
  path: z.string(),
  protocols: z.array(z.enum(['hls', 'dash'])).min(1),
  encryption: deliveryEncryption,
});
export type DeliveryPolicyManifest = z.infer<typeof deliveryPolicy>;

export const locator = z.object({
  name: dnsLabel,
  path: z.string(),
  /**
   * The first path segment of every playback URL, when the app set it (a UUID). Absent: derived at run
   * time from the account's locator id key (lib/contract/locator-ids.ts), never from the app's source.
   */
  id: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/).optional(),
  channel: dnsLabel,
  program: dnsLabel,
  endpoint: dnsLabel,
  deliveryPolicy: dnsLabel,
  start: z.string().datetime({ offset: true }).optional(),
  end: z.string().datetime({ offset: true }).optional(),
});
export type LocatorManifest = z.infer<typeof locator>;

/** A Kubernetes CPU quantity: cores (`1`, `0.5`) or millicores (`250m`). */
export const cpuQuantity = z.string().regex(/^(\d+(\.\d+)?|\d+m)$/, 'a CPU quantity such as "500m" or "1.5"');
/** A Kubernetes memory or storage quantity: bytes with an optional binary or decimal suffix (`512Mi`, `100Gi`, `1G`). */
export const byteQuantity = z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/, 'a quantity such as "512Mi" or "100Gi"');

export const resourceSettings = z.object({
  requests: z.object({ cpu: cpuQuantity.optional(), memory: byteQuantity.optional() }).optional(),
  limits: z.object({ cpu: cpuQuantity.optional(), memory: byteQuantity.optional() }).optional(),
});
export type ResourceSettings = z.infer<typeof resourceSettings>;

export const kubernetesResources = z.object({
  ingest: resourceSettings.optional(),
  origin: resourceSettings.optional(),
  keys: resourceSettings.optional(),
});
export type KubernetesResources = z.infer<typeof kubernetesResources>;

export const serviceType = z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']);
export type ServiceType = z.infer<typeof serviceType>;

/** How a workload's published ports are reached: a Service of this type, with these annotations. */
export const serviceExposure = z.object({
  type: serviceType,
  annotations: z.record(z.string(), z.string()),
});
export type ServiceExposure = z.infer<typeof serviceExposure>;

export const toleration = z.object({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().min(0).optional(),
});
export type Toleration = z.infer<typeof toleration>;

/** A DNS subdomain (RFC 1123), what Kubernetes accepts as an object or secret name. */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Where an account's workloads run, with the settings of that engine. */
export const platform = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('docker') }),
  z.object({
    kind: z.literal('kubernetes'),
    namespace: dnsLabel,
    /** Whether livestack renders the Namespace object itself (else the cluster's owners create it). */
    createNamespace: z.boolean(),
    /** The ReadWriteMany claim every workload mounts the account storage from. */
    storage: z.object({ storageClassName: z.string().min(1).optional(), size: byteQuantity }),
    image: z.object({
      pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
      pullSecrets: z.array(z.string().regex(DNS_SUBDOMAIN, 'a Secret name (DNS subdomain)')),
    }),
    nodeSelector: z.record(z.string(), z.string()),
    tolerations: z.array(toleration),
    /** Service of each endpoint, ingest and the key service; `endpoints` and `channels` override by name. */
    services: z.object({
      endpoint: serviceExposure,
      ingest: serviceExposure,
      keys: serviceExposure,
      endpoints: z.record(z.string(), serviceExposure),
      channels: z.record(z.string(), serviceExposure),
    }),
    resources: kubernetesResources,
    /** A HorizontalPodAutoscaler per endpoint, between max(1, scaleUnits) and maxReplicas origin replicas. */
    originAutoscaling: z.object({
      maxReplicas: z.number().int().min(1).max(1000),
      targetCpuUtilizationPercent: z.number().int().min(1).max(100),
    }).optional(),
  }),
  z.object({
    kind: z.literal('swarm'),
    /**
     * How published ports reach tasks: `ingress` (the routing mesh: every node answers on every port) or
     * `host` (the node that runs a task answers; endpoints resolve by DNS round robin, `dnsrr`).
     */
    publishMode: z.enum(['ingress', 'host']),
    placement: z.object({
      /** Swarm placement constraints every service of the account gets, e.g. `node.labels.media==true`. */
      constraints: z.array(z.string().min(1)),
      /** Node labels tasks spread over evenly (`spread` preferences), e.g. `node.labels.zone`. */
      spreadOver: z.array(z.string().min(1)),
      /** At most this many tasks of one service on one node; absent: no bound. */
      maxReplicasPerNode: z.number().int().min(1).max(1000).optional(),
    }),
  }),
]);
export type Platform = z.infer<typeof platform>;
export type SwarmPlatform = Extract<Platform, { kind: 'swarm' }>;
export type KubernetesPlatform = Extract<Platform, { kind: 'kubernetes' }>;

export const account = z.object({
  name: dnsLabel,
  path: z.string(),
  /** Runtime image every workload of the account runs. */
  image: z.string().min(1),
  /** Present when that image is built from livestack's Dockerfile (RuntimeImage.build): its base image. */
  imageBuild: z.object({ baseImage: z.string().min(1) }).optional(),
  /** Address published ports bind to. */
  bindAddress: ipAddress,
  storage: z.object({
    /** Docker volume holding media, keys and secrets (Docker and Terraform targets). */
    volume: z.string().min(1),
    /**
     * A filesystem every host mounts at `hostPath` (NFS, EFS, CephFS): bind-mounted at the storage root
     * of every workload instead of the volume, so workloads on any host see the same media.
     */
    shared: z.object({ hostPath: z.string().min(1) }).optional(),
  }),
  network: z.object({ name: z.string().min(1) }),
  keyDelivery: z.object({
    port,
    allowList: z.array(cidr),
    /** Base URL players use for key requests; absent: the host the player used for the origin, on `port`. */
    publicBaseUrl: publicHttpUrl.optional(),
  }),
  limits: z.object({ maxChannels: z.number().int().min(1).max(10_000) }),
  /** Where the workloads run; absent: one Docker host (or the local driver). */
  platform: platform.optional(),
  endpoints: z.array(endpoint),
  channels: z.array(channel),
  keyPolicies: z.array(keyPolicy),
  deliveryPolicies: z.array(deliveryPolicy),
  locators: z.array(locator),
});
export type AccountManifest = z.infer<typeof account>;

export const manifest = z.object({
  apiVersion: z.literal(MANIFEST_API_VERSION),
  accounts: z.array(account),
});
export type Manifest = z.infer<typeof manifest>;
