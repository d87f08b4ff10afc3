/**
 * Common encryption played live by the players viewers use: real ffmpeg pushes over RTMP, the ingest
 * transcodes a small ladder, and the origin protects it on the fly for a `cenc` locator (DASH) and a
 * `cbcs` locator (DASH and HLS) under a token key policy. dash.js, Shaka Player and hls.js (from npm,
 * served from 127.0.0.1 to headless Chromium, whose EME ClearKey CDM decrypts) play them with the
 * license URL the MPD names (`dashif:Laurl`, the viewer's token carried on by the origin) or, for
 * hls.js, the one its config names. Every license response is seen from the browser's side.
 *
 * With the token the key service answers 200 and playback runs through every video representation;
 * without it the key service answers 401 and playback never starts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Response } from 'playwright-core';
import { Manifest } from '../../lib/model/manifest';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { commonEncryptionPolicy, VIEWERS, viewersKeyPolicy } from '../../bench/support/origin-manifest';
import { viewerToken } from '../../bench/support/tokens';
import { Browser, launchChromium } from './support/browser';
import { ingestManifest, pushUntilRecording, rtmpUrl, SMALL_LADDER, startEncoder, tearDown } from './support/ingest-support';
import { describe as describeState, longestStallMs, openPlayer, Player, PlayerKind, PLAYER_NAMES, PlayerPage, startPlayerPage } from './support/player-page';

const SEGMENT = 2;
const KEY = `key-${randomBytes(12).toString('hex')}`;
const JWT_SECRET = `test-jwt-secret-${randomBytes(24).toString('hex')}`;
const LIVE_ASSET = 'show-live';
const LOCATORS = { cenc: randomUUID(), cbcs: randomUUID() } as const;
type Scheme = keyof typeof LOCATORS;

let manifest: Manifest;
let stack: LocalStack;
let browser: Browser;
let page: PlayerPage;
/** Status of every response from the key service's /clearkey, in the order the browser got them. */
let licenses: number[] = [];

const account = () => manifest.accounts[0];
const originBase = () => `http://127.0.0.1:${account().endpoints[0].port}`;
const licenseUrl = () => `http://127.0.0.1:${account().keyDelivery.port}/clearkey`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The manifest URL a viewer is given: the token, when they have one, on the MPD or playlist URL. */
function source(kind: PlayerKind, scheme: Scheme, token?: string): string {
  return `${originBase()}/${LOCATORS[scheme]}/index.${kind === 'hlsjs' ? 'm3u8' : 'mpd'}${token ? `?token=${token}` : ''}`;
}

/** hls.js takes its ClearKey license URL from its config (HLS has no place for one); the token rides on it. */
function playerOptions(kind: PlayerKind, token?: string) {
  if (kind === 'dashjs') return { config: { streaming: { buffer: { reuseExistingSourceBuffers: false } } } };
  if (kind === 'hlsjs') return { config: { emeEnabled: true, drmSystems: { 'org.w3.clearkey': { licenseUrl: `${licenseUrl()}${token ? `?token=${token}` : ''}` } } } };
  return {};
}

beforeAll(async () => {
  page = await startPlayerPage();
  manifest = await ingestManifest([{
    name: 'show', encoding: SMALL_LADDER, streamKey: { kind: 'variable', id: 'show-key', name: 'show_key' },
    programs: [{ name: 'live', assetName: LIVE_ASSET, state: 'running' }],
  }], { origin: true, protocols: ['hls', 'dash'], segmentDurationSeconds: SEGMENT, keyFrameIntervalSeconds: SEGMENT / 2, archiveWindowSeconds: 300 });
  const a = account();
  const watch = a.locators[0];
  type Account = Manifest['accounts'][number];
  // The suites' policies (bench/support/origin-manifest.ts), moved under this test's account.
  a.keyPolicies.push({ ...viewersKeyPolicy(), path: `${a.path}/viewers` } as unknown as Account['keyPolicies'][number]);
  for (const scheme of ['cenc', 'cbcs'] as const) {
    a.deliveryPolicies.push({ ...commonEncryptionPolicy(scheme, 'viewers'), path: `${a.path}/${scheme}` } as unknown as Account['deliveryPolicies'][number]);
    a.locators.push({ ...watch, name: `drm-${scheme}`, path: `${a.path}/drm-${scheme}`, id: LOCATORS[scheme], deliveryPolicy: scheme });
  }
  a.endpoints[0].corsAllowedOrigins = [page.origin];
  stack = await startLocalStack(manifest, { env: { ...process.env, TF_VAR_show_key: KEY, [`TF_VAR_${VIEWERS.secretVariable}`]: JWT_SECRET } });
  await stack.waitReady(30_000);
  browser = await launchChromium();
  browser.context.on('response', (response: Response) => {
    if (response.url().startsWith(licenseUrl())) licenses.push(response.status());
  });
  const push = () => startEncoder(rtmpUrl(manifest, 'show', KEY), { seconds: 900 });
  await pushUntilRecording(stack, push, { storage: stack.storageDir(account().name), asset: LIVE_ASSET, rendition: '180p' }, 60_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await tearDown(stack, undefined);
  await page?.close();
}, 60_000);

async function playFor(player: Player, seconds: number, timeoutMs: number) {
  const from = (await player.state()).playedSeconds;
  return player.waitFor((s) => s.playedSeconds >= from + seconds, `${seconds} s of playback`, timeoutMs);
}

const CASES: [PlayerKind, Scheme][] = [['dashjs', 'cenc'], ['shaka', 'cenc'], ['dashjs', 'cbcs'], ['shaka', 'cbcs'], ['hlsjs', 'cbcs']];

describe.each(CASES)('%s, %s locator', (kind, scheme) => {
  beforeEach(() => { licenses = []; });

  test('GIVEN a viewer with a valid token WHEN the player plays live THEN the license is granted and every video representation plays, without a stall longer than a segment', async () => {
    const token = viewerToken(JWT_SECRET);
    const player = await openPlayer(browser, page, kind, source(kind, scheme, token), playerOptions(kind, token));
    try {
      const started = await player.waitFor((s) => s.playedSeconds > 1 && s.live === true, 'live playback', 40_000);
      const tracks = started.videoTracks;
      expect(tracks.map((t) => t.height).sort((a, b) => a - b)).toEqual([90, 180]);
      const since = Date.now();
      const from = started.currentTime;

      for (const choice of [...tracks.keys()]) {
        await player.selectVideo(choice);
        const state = await playFor(player, 3 * SEGMENT, 30_000);
        expect({ pinned: choice, height: state.videoHeight }).toEqual({ pinned: choice, height: tracks[choice].height });
      }
      const state = await player.state();

      expect(state.currentTime - from).toBeGreaterThanOrEqual(4 * SEGMENT);
      expect(state.errors).toEqual([]);
      expect(longestStallMs(state, since)).toBeLessThanOrEqual(SEGMENT * 1000);
      expect(licenses.length).toBeGreaterThanOrEqual(1);
      expect(licenses.every((status) => status === 200)).toBe(true);
    } finally {
      await player.close();
    }
  }, 120_000);

  test('GIVEN a viewer without a token WHEN the player loads the locator THEN the license is refused (401) and playback does not start', async () => {
    const player = await openPlayer(browser, page, kind, source(kind, scheme), playerOptions(kind));
    try {
      const deadline = Date.now() + 30_000;
      while (!licenses.includes(401)) {
        if (Date.now() > deadline) throw new Error(`${PLAYER_NAMES[kind]} sent no license request: ${describeState(await player.state())}`);
        await sleep(200);
      }
      await sleep(3 * SEGMENT * 1000);
      const state = await player.state();

      expect(licenses).not.toContain(200);
      expect(state.playedSeconds).toBe(0);
    } finally {
      await player.close();
    }
  }, 60_000);
});
