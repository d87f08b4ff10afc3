/**
 * Default resource requests and limits of workloads on a cluster engine, derived from what they were
 * measured to cost on this repository's 2-core machine (`npm run bench:requests`; method and figures in
 * BENCHMARKS.md): a scheduler that knows what a transcoder needs packs channels onto nodes without
 * starving them. Whatever an account sets replaces a derived value, field by field.
 */
import { Encoding, KubernetesResources, ResourceSettings } from '../model/manifest';
import { ResourceSpec } from '../contract/workload-spec';
import { ORIGIN_CACHE } from '../contract/workload-env';

/**
 * What one ingest costs: the base (nginx-rtmp, the supervisor, ffmpeg copying a 720p30 feed: a
 * passthrough channel) and each megapixel of a 30 fps rung of the ladder (x264 veryfast), CPU in
 * millicores and resident memory in MiB. Measured: Default720p (1.67 megapixels) 842 millicores, 377 MiB.
 */
export const INGEST_COST = { baseMillicores: 25, baseMemoryMiB: 144, millicoresPerMegapixel: 489, memoryMiBPerMegapixel: 140 } as const;

/** What one origin replica costs: CPU per segment request, and resident memory under load (clear segments). */
export const ORIGIN_COST = { microsPerRequest: 130, memoryMiB: 108 } as const;

/**
 * Viewers one origin replica's CPU request is sized for. A viewer of 4-s segments asks for about one
 * segment or playlist a second, so 1,000 viewers are about 1,000 requests a second.
 */
export const VIEWERS_PER_ORIGIN = 1000;

/**
 * The key service: a Node process like the origin (whose idle RSS is 71 MiB) that answers a key request
 * in 84 µs with a full JWT check (bench:origin); players ask once per key, so 50 millicores are about 600
 * such requests a second.
 */
export const KEYS_COST = { millicores: 50, memoryMiB: 96 } as const;

/** Memory limit over the request: headroom for bursts (reconnects, a long GOP) before the OOM killer. */
const MEMORY_LIMIT_FACTOR = 2;

/** Requests and limits of an ingest transcoding `encoding`. */
export function ingestResources(encoding: Encoding, settings: KubernetesResources['ingest']): ResourceSpec {
  const megapixels = encoding.type === 'standard' ? encoding.ladder.reduce((sum, r) => sum + (r.width * r.height) / 1e6, 0) : 0;
  const memoryMiB = INGEST_COST.baseMemoryMiB + INGEST_COST.memoryMiBPerMegapixel * megapixels;
  return withDefaults(settings, INGEST_COST.baseMillicores + INGEST_COST.millicoresPerMegapixel * megapixels, memoryMiB, memoryMiB * MEMORY_LIMIT_FACTOR);
}

/** Requests and limits of one origin replica: the limit also holds its full cache of encrypted segments. */
export function originResources(settings: KubernetesResources['origin']): ResourceSpec {
  const millicores = (ORIGIN_COST.microsPerRequest * VIEWERS_PER_ORIGIN) / 1000;
  return withDefaults(settings, millicores, ORIGIN_COST.memoryMiB, ORIGIN_COST.memoryMiB * MEMORY_LIMIT_FACTOR + ORIGIN_CACHE.defaultMiB);
}

/** Requests and limits of the key service. */
export function keysResources(settings: KubernetesResources['keys']): ResourceSpec {
  return withDefaults(settings, KEYS_COST.millicores, KEYS_COST.memoryMiB, KEYS_COST.memoryMiB * MEMORY_LIMIT_FACTOR);
}

/** Derived requests and a memory limit, no CPU limit: a throttled transcoder drops frames, an idle core is better lent to it. */
function withDefaults(settings: ResourceSettings | undefined, millicores: number, memoryMiB: number, memoryLimitMiB: number): ResourceSpec {
  return {
    requests: { cpu: `${roundUp(millicores, 10)}m`, memory: `${roundUp(memoryMiB, 16)}Mi`, ...settings?.requests },
    limits: { memory: `${roundUp(memoryLimitMiB, 16)}Mi`, ...settings?.limits },
  };
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}
