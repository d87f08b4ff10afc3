/**
 * zod schemas of every construct's props: what users may pass, checked at construction time. Value
 * classes (Duration, Secret, Encoding, ...) are checked by type here and by content where they are used.
 * Objects are strict, so a misspelt prop is an error rather than silently ignored.
 */
import { Token } from 'cdktf';
import { z } from 'zod';
import { byteQuantity, cidr, cpuQuantity, DNS_LABEL, DNS_SUBDOMAIN, ingestProtocol, ipAddress, latencyMode, port, publicHttpUrl, runState, serviceType, STREAM_KEY, STREAM_KEY_RULE, TOKEN_LIFETIME_SECONDS, toleration } from './manifest';
import { DeliveryEncryption } from './values/delivery-encryption';
import { Duration } from './values/duration';
import { Encoding } from './values/encoding';
import { KeyRestriction } from './values/key-restriction';
import { Platform } from './values/platform';
import { RuntimeImage } from './values/runtime-image';
import { Secret } from './values/secret';

/** `z.instanceof` for value classes with private constructors (their factories are the API). */
function instanceOf<T>(cls: { prototype: T }, error: string) {
  return z.custom<T>((value) => value instanceof (cls as unknown as new () => T), { error });
}

/** An absolute path with no `.`/`..` segment, empty segment or trailing slash, and not `/` itself. */
const SHARED_PATH = /^(\/(?!\.\.?(\/|$))[^/\0]+)+$/;

const name = z.string().regex(DNS_LABEL, 'a DNS label: 1-63 of a-z, 0-9 and "-", not starting or ending with "-"');
/** A Duration of a finite, non-negative length (`Duration.seconds(NaN)` or `-1` mean nothing useful). */
const duration = instanceOf(Duration, 'a Duration, e.g. Duration.seconds(2) or Duration.parse("2s")')
  .refine((d) => Number.isFinite(d.toSeconds()) && d.toSeconds() >= 0, 'a finite Duration of 0 or more, e.g. Duration.seconds(2)');
const durationUpTo = (max: Duration) => duration.refine((d) => d.toSeconds() <= max.toSeconds(), `a Duration from 0s to ${max}`);
const durationLike = z.union([duration, z.string()], { error: 'a Duration or a duration string such as "2s", "5m", "PT2H"' });
const cidrList = z.array(cidr);
/** A secret may be a value class or a string; an unresolved token (a Terraform variable) is never checked as text. */
const streamKeyLike = z.union([instanceOf(Secret, 'a Secret'), z.string().refine((s) => Token.isUnresolved(s) || STREAM_KEY.test(s), STREAM_KEY_RULE)], {
  error: `a Secret (Secret.generated(), Secret.fromVariable(v), Secret.plainText(s)) or a string of ${STREAM_KEY_RULE}`,
});
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const hostName = z.string().regex(HOST_NAME, 'a lower-case host name such as live.example.com');
const isoOrDate = z.union([
  z.date().refine((d) => !Number.isNaN(d.getTime()), 'a valid Date'),
  z.string().datetime({ offset: true, error: 'an ISO 8601 date-time with zone, e.g. 2026-12-01T18:00:00Z' }),
], { error: 'a Date or an ISO 8601 date-time string with zone, e.g. 2026-12-01T18:00:00Z' });

export const mediaAccountProps = z.strictObject({
  name: name.optional(),
  runtimeImage: instanceOf(RuntimeImage, 'a RuntimeImage, e.g. RuntimeImage.build() or RuntimeImage.fromName("repo/image:tag")').optional(),
  bindAddress: ipAddress.optional(),
  storage: z.strictObject({
    volumeName: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'a Docker volume name').optional(),
    shared: z.strictObject({ hostPath: z.string().regex(SHARED_PATH, 'an absolute, normalised host path below the root, e.g. /mnt/media (no "..", "." or "//", no trailing "/")') }).optional(),
  }).refine((s) => !(s.volumeName !== undefined && s.shared !== undefined), 'either volumeName (a local volume) or shared (a shared filesystem), not both').optional(),
  network: z.strictObject({ name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'a Docker network name').optional() }).optional(),
  keyDelivery: z.strictObject({
    port: port.optional(),
    allowList: cidrList.optional(),
    publicBaseUrl: publicHttpUrl.optional(),
  }).optional(),
  limits: z.strictObject({ maxChannels: z.number().int().min(1).max(10_000).optional() }).optional(),
  platform: instanceOf(Platform, 'a Platform: Platform.docker(), Platform.swarm({...}) or Platform.kubernetes({...})').optional(),
});

/** Options of Platform.swarm(), checked by the account that uses them (field paths start with `platform.`). */
export const swarmOptions = z.strictObject({
  publishMode: z.enum(['ingress', 'host']).optional(),
  placement: z.strictObject({
    constraints: z.array(z.string().regex(/^[A-Za-z0-9_.-]+\s*(==|!=)\s*\S+$/, 'a placement constraint such as node.labels.media==true or node.role!=manager')).optional(),
    spreadOver: z.array(z.string().regex(/^(node\.labels|engine\.labels)\.[A-Za-z0-9_.-]+$/, 'a node label such as node.labels.zone')).optional(),
    maxReplicasPerNode: z.number().int().min(1).max(1000).optional(),
  }).optional(),
});

const serviceOptions = z.strictObject({ type: serviceType.optional(), annotations: z.record(z.string(), z.string()).optional() });
const resourceAmounts = z.strictObject({ cpu: cpuQuantity.optional(), memory: byteQuantity.optional() });
const resourceOptions = z.strictObject({ requests: resourceAmounts.optional(), limits: resourceAmounts.optional() });

/** Options of Platform.kubernetes(), checked by the account that uses them (field paths start with `platform.`). */
export const kubernetesOptions = z.strictObject({
  namespace: name.optional(),
  createNamespace: z.boolean().optional(),
  storage: z.strictObject({ storageClassName: z.string().regex(DNS_SUBDOMAIN, 'a StorageClass name').optional(), size: byteQuantity.optional() }).optional(),
  image: z.strictObject({
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    pullSecrets: z.array(z.string().regex(DNS_SUBDOMAIN, 'a Secret name (DNS subdomain)')).optional(),
  }).optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  tolerations: z.array(toleration.strict()).optional(),
  services: z.strictObject({
    endpoint: serviceOptions.optional(),
    ingest: serviceOptions.optional(),
    keys: serviceOptions.optional(),
    endpoints: z.record(z.string(), serviceOptions).optional(),
    channels: z.record(z.string(), serviceOptions).optional(),
  }).optional(),
  resources: z.strictObject({ ingest: resourceOptions.optional(), origin: resourceOptions.optional(), keys: resourceOptions.optional() }).optional(),
  originAutoscaling: z.strictObject({
    maxReplicas: z.number().int().min(1).max(1000),
    targetCpuUtilizationPercent: z.number().int().min(1).max(100).optional(),
  }).optional(),
});

export const streamingEndpointProps = z.strictObject({
  name: name.optional(),
  port: port.optional(),
  scaleUnits: z.number().int().min(0).max(64).optional(),
  cors: z.strictObject({ allowedOrigins: z.array(z.string().refine(isCorsOrigin, 'an origin such as https://player.example.com or http://127.0.0.1:3000 (scheme, host, optional port; nothing else), or "*"')) }).optional(),
  allowList: cidrList.optional(),
  hostNames: z.array(hostName).optional(),
  trustedProxies: cidrList.optional(),
  maxCacheAge: durationUpTo(Duration.days(365)).optional(),
  state: runState.optional(),
});

export const liveChannelProps = z.strictObject({
  name: name.optional(),
  port: port.optional(),
  protocols: z.array(ingestProtocol, { error: 'a list of ingest protocols: ["rtmp"], ["srt"] or ["rtmp", "srt"]' }).min(1).optional(),
  srt: z.strictObject({
    port: port.optional(),
    keyLength: z.union([z.literal(16), z.literal(24), z.literal(32)], { error: '16, 24 or 32 (bytes: AES-128, AES-192, AES-256)' }).optional(),
    latency: durationLike.optional(),
  }).optional(),
  streamKey: streamKeyLike.optional(),
  ingestAllowList: cidrList.optional(),
  previewAllowList: cidrList.optional(),
  keyFrameInterval: durationLike.optional(),
  segmentDuration: durationLike.optional(),
  encoding: instanceOf(Encoding, 'an Encoding, e.g. Encoding.standard(EncodingPreset.default720p()) or Encoding.passthrough()').optional(),
  latency: latencyMode.optional(),
  state: runState.optional(),
});

export const programProps = z.strictObject({
  name: name.optional(),
  archiveWindow: durationLike.optional(),
  manifestName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1-64 of A-Z, a-z, 0-9, "_" and "-"').optional(),
  assetName: name.optional(),
  state: runState.optional(),
  start: isoOrDate.optional(),
  end: isoOrDate.optional(),
});

export const keyPolicyProps = z.strictObject({
  name: name.optional(),
  restriction: instanceOf(KeyRestriction, 'a KeyRestriction: KeyRestriction.open(), .token({...}) or .ip([...])').optional(),
  keyType: z.literal('aes-128', { error: '"aes-128" (the content key type of envelope, cenc and cbcs alike; the delivery policy picks the protection)' }).optional(),
});

export const deliveryPolicyProps = z.strictObject({
  name: name.optional(),
  protocols: z.array(z.enum(['hls', 'dash'])).min(1).optional(),
  encryption: instanceOf(DeliveryEncryption, 'a DeliveryEncryption: DeliveryEncryption.none(), .envelope(keyPolicy), .cenc(keyPolicy) or .cbcs(keyPolicy)').optional(),
});

export const locatorProps = z.strictObject({
  name: name.optional(),
  endpoint: z.custom<object>((v) => typeof v === 'object' && v !== null && 'endpointName' in v, { error: 'a StreamingEndpoint construct' }),
  deliveryPolicy: z.custom<object>((v) => typeof v === 'object' && v !== null && 'policyName' in v && 'protocols' in v, { error: 'a DeliveryPolicy construct' }).optional(),
  start: isoOrDate.optional(),
  end: isoOrDate.optional(),
  locatorId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a lower-case random (version 4) UUID, e.g. from crypto.randomUUID()').optional(),
});

/** A browser origin as `Origin` headers carry it: scheme, host and optional port, lower case. */
function isCorsOrigin(origin: string): boolean {
  if (origin === '*') return true;
  const match = /^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.exec(origin);
  return match !== null && (match[1].startsWith('[') || HOST_NAME.test(match[1]) || /^(\d{1,3}\.){3}\d{1,3}$/.test(match[1]));
}

/** Duration from a Duration or a duration string; undefined when the string does not parse (reported by the caller). */
export function toDuration(value: Duration | string | undefined, fallback: Duration): Duration | undefined {
  if (value === undefined) return fallback;
  return typeof value === 'string' ? Duration.tryParse(value) : value;
}

/** Options of KeyRestriction.token(), checked where the key policy is created. */
export const tokenRestrictionOptions = z.strictObject({
  issuer: z.string().min(1),
  audience: z.string().min(1),
  algorithms: z.array(z.string().refine((a) => a.toLowerCase() !== 'none', '"none" is never accepted (RFC 8725): pin a signing algorithm such as HS256, RS256 or ES256')).min(1).optional(),
  keys: z.array(z.custom((v) => typeof v === 'object' && v !== null && 'spec' in v, { error: 'a VerificationKey, e.g. VerificationKey.symmetric(secret)' })).min(1).optional(),
  requiredClaims: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  clockSkew: durationUpTo(Duration.minutes(5)).optional(),
  requireExpiry: z.boolean().optional(),
  maxLifetime: duration.refine((d) => d.toSeconds() >= TOKEN_LIFETIME_SECONDS.min && d.toSeconds() <= TOKEN_LIFETIME_SECONDS.max,
    `a Duration from ${Duration.seconds(TOKEN_LIFETIME_SECONDS.min)} to ${Duration.seconds(TOKEN_LIFETIME_SECONDS.max)}`).optional(),
});

export const ipAllowList = z.array(cidr).min(1);
