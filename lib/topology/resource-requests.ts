/**
 * Default resource requests and limits of workloads on a cluster engine, derived from what they were
 * measured to cost on a 2-core machine (`npm run bench:requests`; method and figures in BENCHMARKS.md):
 * a scheduler that knows what a transcoder needs packs channels onto nodes without starving them.
 */
import { Encoding, KubernetesResources, ResourceSettings } from '../model/manifest';
import { ResourceSpec } from '../contract/workload-spec';

/**
 * What one ingest costs: the base (nginx-rtmp, the supervisor, ffmpeg copying a 720p30 feed) and each
 * megapixel of a 30 fps rung of the ladder (x264 veryfast), CPU in millicores and memory in MiB.
 */
export const INGEST_COST = { baseMillicores: 60, baseMemoryMiB: 150, millicoresPerMegapixel: 700, memoryMiBPerMegapixel: 150 } as const;

/**
 * What one origin replica costs: CPU per segment request and resident memory under load. The request
 * covers VIEWERS_PER_ORIGIN viewers, each fetching about one segment or playlist a second.
 */
export const ORIGIN_COST = { microsPerRequest: 100, memoryMiB: 120 } as const;

/** Viewers one origin replica's CPU request is sized for (each about one request a second). */
export const VIEWERS_PER_ORIGIN = 1000;

/** The key service: small and mostly idle (a key request is answered from memory after the first). */
export const KEYS_COST = { millicores: 50, memoryMiB: 100 } as const;

/** Memory limit over the request: headroom for bursts (reconnects, a cold cache) before the OOM killer. */
const MEMORY_LIMIT_FACTOR = 2;

/** Requests and limits of an ingest transcoding `encoding`; the account's settings win field by field. */
export function ingestResources(encoding: Encoding, settings: KubernetesResources['ingest']): ResourceSpec {
  const megapixels = encoding.type === 'standard' ? encoding.ladder.reduce((sum, r) => sum + (r.width * r.height) / 1e6, 0) : 0;
  return withDefaults(settings, {
    cpuMillicores: INGEST_COST.baseMillicores + INGEST_COST.millicoresPerMegapixel * megapixels,
    memoryMiB: INGEST_COST.baseMemoryMiB + INGEST_COST.memoryMiBPerMegapixel * megapixels,
  });
}

/** Requests and limits of one origin replica. */
export function originResources(settings: KubernetesResources['origin']): ResourceSpec {
  return withDefaults(settings, { cpuMillicores: (ORIGIN_COST.microsPerRequest * VIEWERS_PER_ORIGIN) / 1000, memoryMiB: ORIGIN_COST.memoryMiB });
}

/** Requests and limits of the key service. */
export function keysResources(settings: KubernetesResources['keys']): ResourceSpec {
  return withDefaults(settings, { cpuMillicores: KEYS_COST.millicores, memoryMiB: KEYS_COST.memoryMiB });
}

/**
 * Derived requests, a memory limit of twice the request, and no CPU limit: a throttled transcoder
 * drops frames, an idle core is better lent to it. Whatever the account sets replaces the derived value.
 */
function withDefaults(settings: ResourceSettings | undefined, cost: { cpuMillicores: number; memoryMiB: number }): ResourceSpec {
  const cpu = `${roundUp(cost.cpuMillicores, 10)}m`;
  const memory = `${roundUp(cost.memoryMiB, 16)}Mi`;
  const memoryLimit = `${roundUp(cost.memoryMiB * MEMORY_LIMIT_FACTOR, 16)}Mi`;
  return {
    requests: { cpu, memory, ...settings?.requests },
    limits: { memory: memoryLimit, ...settings?.limits },
  };
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}
