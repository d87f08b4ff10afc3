/**
 * The configs each data-plane program reads: static config from `LIVESTACK_CONFIG` (a change replaces
 * the workload) and live config from `LIVESTACK_LIVE_CONFIG` / the control file (reloaded in place).
 * Schemas, so a data-plane program refuses a malformed config with a clear error before serving.
 */
import { z } from 'zod';
import { channel, deliveryEncryption, endpoint, keyPolicy, port, program } from '../model/manifest';

export const ingestConfig = z.object({
  kind: z.literal('ingest'),
  account: z.string(),
  channel: channel.omit({ programs: true }),
  /** Loopback HTTP port of the ingest supervisor (nginx-rtmp publish callbacks, /healthz, /metrics). */
  controlPort: port,
});
export type IngestConfig = z.infer<typeof ingestConfig>;

export const ingestLiveConfig = z.object({
  /** Every declared program of the channel, running and stopped. */
  programs: z.array(program),
});
export type IngestLiveConfig = z.infer<typeof ingestLiveConfig>;

export const originConfig = z.object({
  kind: z.literal('origin'),
  account: z.string(),
  /** The endpoint, without its scale units: how many siblings an origin has changes nothing in it. */
  endpoint: endpoint.omit({ scaleUnits: true }),
  replica: z.number().int().min(0),
  listenPort: port,
  keyDelivery: z.object({
    port,
    publicBaseUrl: z.string().optional(),
    /** What key URIs start with: publicBaseUrl, else the endpoint's host (model/public-urls.ts) on the key port. Never a request's Host. */
    baseUrl: z.string(),
  }),
});
export type OriginConfig = z.infer<typeof originConfig>;

export const servedLocator = z.object({
  /** The app's explicit locator id; absent: derived from the account's key (contract/locator-ids.ts). */
  id: z.string().optional(),
  name: z.string(),
  channel: z.string(),
  program: z.string(),
  assetName: z.string(),
  manifestName: z.string(),
  archiveWindowSeconds: z.number(),
  protocols: z.array(z.enum(['hls', 'dash'])),
  encryption: deliveryEncryption,
  start: z.string().optional(),
  end: z.string().optional(),
});
export type ServedLocator = z.infer<typeof servedLocator>;

export const originLiveConfig = z.object({
  locators: z.array(servedLocator),
  /** Channels with a preview page on this endpoint (live: adding or removing a channel restarts no origin). */
  previews: z.array(z.object({ channel: z.string(), allowList: z.array(z.string()) })),
});
export type OriginLiveConfig = z.infer<typeof originLiveConfig>;

export const keyServiceConfig = z.object({
  kind: z.literal('keys'),
  account: z.string(),
  port,
  allowList: z.array(z.string()),
  /** Origins allowed to call the key service from a browser (union of the endpoints' CORS origins). */
  corsAllowedOrigins: z.array(z.string()),
  policies: z.array(keyPolicy),
  /** Content keys the service hands out, one per protected (envelope, cenc or cbcs) locator, each under one policy (ids derived at run time). */
  keys: z.array(z.object({ locator: z.string(), id: z.string().optional(), keyPolicy: z.string() })),
});
export type KeyServiceConfig = z.infer<typeof keyServiceConfig>;

export const balancerConfig = z.object({
  kind: z.literal('balancer'),
  account: z.string(),
  endpoint: z.string(),
  listenPort: port,
  /** Upstream replicas: `host` is a workload name (Docker DNS) that the local driver maps to 127.0.0.1. */
  upstreams: z.array(z.object({ host: z.string(), port })),
});
export type BalancerConfig = z.infer<typeof balancerConfig>;
