/**
 * A real browser plays what the origin serves: headless Chromium (Debian's), hls.js served by the
 * origin from the hls.js package (no CDN), an envelope-encrypted locator whose key needs a JWT passed
 * through hls.js's `xhrSetup`. The page comes from another origin (a server of this test), so CORS on
 * the origin and key service is exercised for real. Also saves a screenshot of the preview page.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Page } from 'playwright-core';
import { freePort } from '../../bench/support/manifest-fixtures';
import { envelopePolicy, viewersKeyPolicy } from '../../bench/support/origin-manifest';
import { Browser, launchChromium } from './support/browser';
import { OriginStack, startOriginStack } from '../../bench/support/origin-stack';
import { viewerToken } from '../../bench/support/tokens';

jest.setTimeout(120_000);

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const JWT_SECRET = `test-jwt-secret-${randomBytes(24).toString('hex')}`;
const PROTECTED = randomUUID();

let stack: OriginStack;
let browser: Browser;
let pageServer: http.Server;
let pageOrigin: string;

/** The player page: hls.js from the origin, playback started by `window.startPlayer` with a token. */
function playerPage(originPort: number): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>livestack protected player</title></head>
<body>
<video id="video" muted playsinline width="640" height="360"></video>
<script src="http://127.0.0.1:${originPort}/preview/hls.min.js"></script>
<script>
  window.events = [];
  window.startPlayer = (source, keyBase, token) => {
    const video = document.getElementById('video');
    const hls = new Hls({
      // The token goes only to the key service: media requests stay simple (no CORS preflight).
      xhrSetup: (xhr, url) => { if (token && url.startsWith(keyBase)) xhr.setRequestHeader('Authorization', 'Bearer ' + token); },
    });
    hls.on(Hls.Events.ERROR, (_event, data) => window.events.push('error ' + data.details + (data.fatal ? ' (fatal)' : '')));
    hls.on(Hls.Events.KEY_LOADED, () => window.events.push('key loaded'));
    hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
      window.events.push('manifest parsed: ' + data.levels.length + ' levels');
      video.play().catch((error) => window.events.push('play() refused: ' + error.message));
    });
    hls.loadSource(source);
    hls.attachMedia(video);
  };
</script>
</body></html>`;
}

beforeAll(async () => {
  const pagePort = await freePort();
  pageOrigin = `http://127.0.0.1:${pagePort}`;
  stack = await startOriginStack({
    env: { ...process.env, TF_VAR_jwt_secret: JWT_SECRET },
    corsAllowedOrigins: [pageOrigin],
    previewAllowList: ['127.0.0.1/32'],
    programs: [{ name: 'show', assetName: 'show' }],
    keyPolicies: [viewersKeyPolicy()],
    deliveryPolicies: [envelopePolicy('viewers')],
    locators: [{ name: 'protected', program: 'show', deliveryPolicy: 'envelope', id: PROTECTED }],
    assets: [{ asset: 'show', durationSeconds: 20 }],
  });
  const page = playerPage(stack.endpointPort);
  pageServer = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page));
  await new Promise<void>((resolve) => pageServer.listen(pagePort, '127.0.0.1', resolve));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (pageServer ? pageServer.close(resolve) : resolve(undefined)));
  await stack?.stop();
});

async function openPlayer(token: string | undefined): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${pageOrigin}/`, { timeout: 15_000 });
  await page.evaluate(([source, keyBase, bearer]) => (window as unknown as { startPlayer(...a: unknown[]): void }).startPlayer(source, keyBase, bearer), [
    stack.url(`/${PROTECTED}/manifest.m3u8`), `http://127.0.0.1:${stack.keyPort}/keys/`, token,
  ]);
  return page;
}

const currentTime = (page: Page) => page.evaluate(() => (document.getElementById('video') as HTMLVideoElement).currentTime);
const playerEvents = (page: Page) => page.evaluate(() => (window as unknown as { events: string[] }).events);

test('GIVEN a valid token passed through xhrSetup WHEN hls.js plays the protected locator THEN currentTime advances by at least 5 s', async () => {
  const token = viewerToken(JWT_SECRET);
  const page = await openPlayer(token);

  await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).currentTime > 0, undefined, { timeout: 30_000 })
    .catch(async (error: Error) => { throw new Error(`${error.message}; player events: ${JSON.stringify(await playerEvents(page))}`); });
  const started = await currentTime(page);
  const startedAt = Date.now();
  await page.waitForFunction((from) => (document.getElementById('video') as HTMLVideoElement).currentTime >= from + 5, started, { timeout: 30_000 });
  const advanced = (await currentTime(page)) - started;

  expect(advanced).toBeGreaterThanOrEqual(5);
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(4_000);
  expect(await playerEvents(page)).toEqual(expect.arrayContaining(['manifest parsed: 2 levels', 'key loaded']));
  expect((await playerEvents(page)).filter((e) => e.includes('fatal'))).toEqual([]);
  await page.close();
});

test('refuses playback without a token: hls.js fails to load the key and currentTime stays at 0', async () => {
  const page = await openPlayer(undefined);

  await page.waitForFunction(() => (window as unknown as { events: string[] }).events.some((e) => e.includes('keyLoadError')), undefined, { timeout: 30_000 });

  expect(await currentTime(page)).toBe(0);
  expect(await playerEvents(page)).not.toContain('key loaded');
  await page.close();
});

test('GIVEN the channel preview page WHEN it plays THEN a screenshot is saved as a test artifact', async () => {
  const page = await browser.context.newPage();
  await page.goto(stack.url('/preview/news'), { timeout: 15_000 });

  await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).currentTime > 2, undefined, { timeout: 30_000 });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'preview-news.png');
  await page.screenshot({ path: file });

  expect(await page.textContent('#status')).toMatch(/^playing at \d+\.\d s$/);
  expect(fs.statSync(file).size).toBeGreaterThan(10_000);
  await page.close();
});
