/**
 * Test manifests for the origin and key suites, as plain objects (validated by `manifest.parse` when
 * started): one account `acme`, a streaming endpoint `main` (and maybe `second`), a stopped channel `news` (no ingest
 * workload: assets come from the ffmpeg fixture), and whatever programs, policies and locators a
 * suite needs.
 */
import { randomUUID } from 'node:crypto';
import { MANIFEST_API_VERSION } from '../../lib/model/manifest';

export interface TestProgram {
  readonly name: string;
  readonly assetName: string;
  readonly manifestName?: string;
  readonly archiveWindowSeconds?: number;
}

export interface TestLocator {
  readonly name: string;
  readonly program: string;
  readonly deliveryPolicy: string;
  readonly id?: string;
  readonly start?: string;
  readonly end?: string;
  /** @default 'main' */
  readonly endpoint?: 'main' | 'second';
}

/** A second streaming endpoint of the account, with its own CORS origins. */
export interface TestEndpoint {
  readonly port: number;
  readonly corsAllowedOrigins: string[];
}

export interface TestStack {
  readonly endpointPort: number;
  readonly keyPort: number;
  /** Port of the (stopped) channel: no ingest listens on it, but it must not collide. */
  readonly channelPort: number;
  readonly scaleUnits?: number;
  readonly allowList?: string[];
  readonly corsAllowedOrigins?: string[];
  readonly previewAllowList?: string[];
  readonly keyDeliveryAllowList?: string[];
  readonly publicKeyBaseUrl?: string;
  readonly programs: TestProgram[];
  readonly keyPolicies?: unknown[];
  readonly deliveryPolicies: unknown[];
  readonly locators: TestLocator[];
  readonly secondEndpoint?: TestEndpoint;
}

const endpointDefaults = { scaleUnits: 0, allowList: [], hostNames: [], maxCacheAgeSeconds: 86400, state: 'running' };

export function testManifest(stack: TestStack): unknown {
  return {
    apiVersion: MANIFEST_API_VERSION,
    accounts: [{
      name: 'acme',
      path: 'app/acme',
      image: 'livestack:test',
      bindAddress: '127.0.0.1',
      storage: { volume: 'acme-storage' },
      network: { name: 'acme-net' },
      keyDelivery: { port: stack.keyPort, allowList: stack.keyDeliveryAllowList ?? [], publicBaseUrl: stack.publicKeyBaseUrl },
      limits: { maxChannels: 5 },
      endpoints: [{
        ...endpointDefaults,
        name: 'main',
        path: 'app/acme/main',
        port: stack.endpointPort,
        scaleUnits: stack.scaleUnits ?? 0,
        corsAllowedOrigins: stack.corsAllowedOrigins ?? [],
        allowList: stack.allowList ?? [],
      }, ...(stack.secondEndpoint ? [{ ...endpointDefaults, name: 'second', path: 'app/acme/second', ...stack.secondEndpoint }] : [])],
      channels: [{
        name: 'news',
        path: 'app/acme/news',
        protocols: ['rtmp'],
        port: stack.channelPort,
        streamKey: { kind: 'generated', id: 'news-stream-key' },
        ingestAllowList: [],
        previewAllowList: stack.previewAllowList ?? [],
        keyFrameIntervalSeconds: 2,
        segmentDurationSeconds: 2,
        encoding: { type: 'passthrough' },
        state: 'stopped',
        programs: stack.programs.map((p) => ({
          name: p.name,
          path: `app/acme/news/${p.name}`,
          assetName: p.assetName,
          manifestName: p.manifestName ?? 'manifest',
          archiveWindowSeconds: p.archiveWindowSeconds ?? 300,
          state: 'stopped',
        })),
      }],
      keyPolicies: stack.keyPolicies ?? [],
      deliveryPolicies: stack.deliveryPolicies,
      locators: stack.locators.map((l) => ({
        name: l.name,
        path: `app/acme/news/${l.program}/${l.name}`,
        id: l.id ?? randomUUID(),
        channel: 'news',
        program: l.program,
        endpoint: l.endpoint ?? 'main',
        deliveryPolicy: l.deliveryPolicy,
        start: l.start,
        end: l.end,
      })),
    }],
  };
}

export const clearPolicy = (protocols: ('hls' | 'dash')[] = ['hls', 'dash'], name = 'clear') => ({
  name, path: `app/acme/${name}`, protocols, encryption: { type: 'none' },
});

export const envelopePolicy = (keyPolicy: string, name = 'envelope') => ({
  name, path: `app/acme/${name}`, protocols: ['hls'], encryption: { type: 'envelope', keyPolicy },
});

/** Common encryption (`cenc`: DASH; `cbcs`: HLS and DASH) with ClearKey under `keyPolicy`. */
export const commonEncryptionPolicy = (scheme: 'cenc' | 'cbcs', keyPolicy: string, name: string = scheme) => ({
  name, path: `app/acme/${name}`, protocols: scheme === 'cenc' ? ['dash'] : ['hls', 'dash'], encryption: { type: scheme, keyPolicy, keySystems: ['clearkey'] },
});

/** A key policy that hands its keys to anyone (AMS's open restriction). */
export const openKeyPolicy = (name = 'open') => ({
  name, path: `app/acme/${name}`, keyType: 'aes-128', restriction: { type: 'open' },
});

export interface TokenPolicyOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: string[];
  /** Verification keys as the manifest holds them (symmetric secret reference, PEM public key, JWKS). */
  readonly keys: unknown[];
  readonly requiredClaims?: Record<string, string | number | boolean | null>;
  readonly clockSkewSeconds?: number;
}

/** A JWT key policy (RFC 8725 checks happen in the key service). */
export const tokenKeyPolicy = (name: string, options: TokenPolicyOptions) => ({
  name,
  path: `app/acme/${name}`,
  keyType: 'aes-128',
  restriction: {
    type: 'token',
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms,
    keys: options.keys,
    requiredClaims: options.requiredClaims ?? {},
    clockSkewSeconds: options.clockSkewSeconds ?? 5,
  },
});

/** What examples/protected asks of viewers: an HS256 JWT from its issuer for its audience, with a claim. */
export const VIEWERS = {
  issuer: 'https://auth.example.com',
  audience: 'livestack-premium',
  requiredClaims: { entitlement: 'premium' },
  /** The Terraform variable (TF_VAR_jwt_secret) holding the HS256 secret. */
  secretVariable: 'jwt_secret',
} as const;

/** The key policy `viewers` of examples/protected (HS256, secret from TF_VAR_jwt_secret, entitlement=premium). */
export const viewersKeyPolicy = (clockSkewSeconds = 5) => tokenKeyPolicy('viewers', {
  issuer: VIEWERS.issuer,
  audience: VIEWERS.audience,
  algorithms: ['HS256'],
  keys: [{ kind: 'symmetric', secret: { kind: 'variable', id: 'jwt-secret', name: VIEWERS.secretVariable } }],
  requiredClaims: { ...VIEWERS.requiredClaims },
  clockSkewSeconds,
});
