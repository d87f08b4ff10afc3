/**
 * An account's origin and key service running on the real controller and local driver (as
 * `livestack up` runs them), with ffmpeg-made assets in its storage: what the origin and key suites
 * play from. Ports come from the OS; everything lives in a temp state folder that `stop()` removes.
 *
 * ```ts
 * const stack = await startOriginStack({ programs, deliveryPolicies, locators, assets: [{ asset: 'a1' }] });
 * await fetch(stack.url(`/${locatorId}/manifest.m3u8`));
 * const logs = stack.workloadLogs();
 * await stack.stop();
 * ```
 */
import * as fs from 'node:fs';
import { Manifest } from '../../lib/model/manifest';
import { localPaths } from '../../lib/runtime/drivers/local-records';
import { storagePaths } from '../../lib/contract/storage-layout';
import { contentKeyId } from '../../lib/contract/content-keys';
import { AssetFixtureOptions, createAssetFixture } from './asset-fixture';
import { LocalStack, startLocalStack } from './local-stack';
import { freePort } from './manifest-fixtures';
import { TestStack, testManifest } from './origin-manifest';

export const ACCOUNT = 'acme';

export interface OriginStackOptions extends Omit<TestStack, 'endpointPort' | 'keyPort' | 'channelPort' | 'secondEndpoint'> {
  /** CORS origins of a second endpoint `second`, when the suite needs one. */
  readonly secondEndpointCors?: string[];
  /** Assets to encode into the account storage before anything is served. */
  readonly assets: readonly Omit<AssetFixtureOptions, 'storageDir'>[];
  /** Environment of the runtime (and source of `TF_VAR_*` secrets). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface OriginStack {
  readonly local: LocalStack;
  readonly manifest: Manifest;
  readonly endpointPort: number;
  readonly keyPort: number;
  /** Port of the endpoint `second`, when there is one. */
  readonly secondEndpointPort?: number;
  readonly storageDir: string;
  /** `http://127.0.0.1:<endpoint port><path>` */
  url(requestPath: string): string;
  /** The key service URL of an envelope locator's content key. */
  keyUrl(locatorId: string): string;
  /** The 16 bytes the key service hands out for an envelope locator (read from the storage). */
  contentKey(locatorId: string): Buffer;
  /** Everything every workload (and its supervisor) logged so far: whole files, as bytes. */
  workloadLogs(): Buffer;
  stop(): Promise<void>;
}

export async function startOriginStack(options: OriginStackOptions): Promise<OriginStack> {
  const [endpointPort, keyPort, channelPort, secondPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const { assets, env, secondEndpointCors, ...stack } = options;
  const secondEndpoint = secondEndpointCors ? { port: secondPort, corsAllowedOrigins: secondEndpointCors } : undefined;
  const manifest = testManifest({ ...stack, endpointPort, keyPort, channelPort, secondEndpoint }) as Manifest;
  const local = await startLocalStack(manifest, { env: env ?? process.env });
  const storageDir = local.storageDir(ACCOUNT);
  try {
    await Promise.all(assets.map((asset) => createAssetFixture({ ...asset, storageDir })));
    await local.waitReady(30_000);
  } catch (error) {
    await local.stop();
    throw error;
  }
  return {
    local,
    manifest,
    endpointPort,
    keyPort,
    secondEndpointPort: secondEndpoint?.port,
    storageDir,
    url: (requestPath) => `http://127.0.0.1:${endpointPort}${requestPath}`,
    keyUrl: (locatorId) => `http://127.0.0.1:${keyPort}/keys/${contentKeyId(locatorId)}`,
    contentKey: (locatorId) => fs.readFileSync(storagePaths.contentKey(storageDir, contentKeyId(locatorId))),
    workloadLogs: () => Buffer.concat(local.specs.map((spec) => fs.readFileSync(localPaths.log(localPaths.workloadDir(local.stateDir, spec.name))))),
    stop: () => local.stop(),
  };
}

/** Where in `logs` a content key appears: raw, hex (either case), base64 or base64url; [] when nowhere. */
export function keyLeaks(logs: Buffer, key: Buffer): string[] {
  const hex = key.toString('hex');
  const forms: [string, Buffer][] = [
    ['raw bytes', key],
    ['hex', Buffer.from(hex)],
    ['upper-case hex', Buffer.from(hex.toUpperCase())],
    ['base64', Buffer.from(key.toString('base64'))],
    ['base64url', Buffer.from(key.toString('base64url'))],
  ];
  return forms.filter(([, bytes]) => logs.includes(bytes)).map(([form]) => form);
}
