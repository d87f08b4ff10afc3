/**
 * A real browser plays what the origin serves: headless Chromium (Debian's), hls.js from the npm
 * package on the suites' player page (support/player-page.ts), an envelope-encrypted locator whose key
 * needs a JWT passed through hls.js's `xhrSetup`. The page comes from another origin (a server of this
 * test), so CORS on the origin and key service is exercised for real. Also saves a screenshot of the
 * preview page.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { envelopePolicy, viewersKeyPolicy } from '../../bench/support/origin-manifest';
import { Browser, launchChromium } from './support/browser';
import { openPlayer, Player, PlayerPage, startPlayerPage } from './support/player-page';
import { OriginStack, startOriginStack } from '../../bench/support/origin-stack';
import { viewerToken } from '../../bench/support/tokens';

jest.setTimeout(120_000);

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const JWT_SECRET = `test-jwt-secret-${randomBytes(24).toString('hex')}`;
const PROTECTED = randomUUID();

let stack: OriginStack;
let browser: Browser;
let page: PlayerPage;

beforeAll(async () => {
  page = await startPlayerPage();
  stack = await startOriginStack({
    env: { ...process.env, TF_VAR_jwt_secret: JWT_SECRET },
    corsAllowedOrigins: [page.origin],
    previewAllowList: ['127.0.0.1/32'],
    programs: [{ name: 'show', assetName: 'show' }],
    keyPolicies: [viewersKeyPolicy()],
    deliveryPolicies: [envelopePolicy('viewers')],
    locators: [{ name: 'protected', program: 'show', deliveryPolicy: 'envelope', id: PROTECTED }],
    assets: [{ asset: 'show', durationSeconds: 20 }],
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await page?.close();
  await stack?.stop();
});

/** hls.js on the protected locator; the token goes only to the key service (media requests stay simple, no CORS preflight). */
const openProtected = (token: string | undefined): Promise<Player> =>
  openPlayer(browser, page, 'hlsjs', stack.url(`/${PROTECTED}/manifest.m3u8`), { token, keyBase: `http://127.0.0.1:${stack.keyPort}/keys/` });

test('GIVEN a valid token passed through xhrSetup WHEN hls.js plays the protected locator THEN currentTime advances by at least 5 s', async () => {
  const player = await openProtected(viewerToken(JWT_SECRET));
  try {
    const started = await player.waitFor((s) => s.currentTime > 0, 'playback', 30_000);
    const state = await player.waitFor((s) => s.currentTime >= started.currentTime + 5, '5 s of playback', 30_000);

    expect(state.now - started.now).toBeGreaterThanOrEqual(4_000);
    expect(state.events.join('\n')).toContain('hls.js manifest parsed: 2 levels');
    expect(state.events.join('\n')).toContain('hls.js key loaded');
    expect(state.errors).toEqual([]);
  } finally {
    await player.close();
  }
});

test('refuses playback without a token: hls.js fails to load the key and currentTime stays at 0', async () => {
  const player = await openProtected(undefined);
  try {
    const state = await player.waitFor((s) => [...s.errors, ...s.events].some((e) => e.includes('keyLoadError')), 'a key load error', 30_000);

    expect(state.currentTime).toBe(0);
    expect(state.events.join('\n')).not.toContain('key loaded');
  } finally {
    await player.close();
  }
});

test('GIVEN the channel preview page WHEN it plays THEN a screenshot is saved as a test artifact', async () => {
  const tab = await browser.context.newPage();
  await tab.goto(stack.url('/preview/news'), { timeout: 15_000 });

  await tab.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).currentTime > 2, undefined, { timeout: 30_000 });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'preview-news.png');
  await tab.screenshot({ path: file });

  expect(await tab.textContent('#status')).toMatch(/^playing at \d+\.\d s$/);
  expect(fs.statSync(file).size).toBeGreaterThan(10_000);
  await tab.close();
});
