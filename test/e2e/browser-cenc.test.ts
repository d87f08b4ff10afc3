/**
 * A `cbcs` HLS locator played by a real player with ClearKey: headless Chromium (Debian's, its EME
 * ClearKey CDM) and hls.js from the package (served by the origin), on a page from another origin
 * (so CORS on the key service is real). hls.js reads `METHOD=SAMPLE-AES,KEYFORMAT="org.w3.clearkey"`
 * from the media playlist, asks EME for a session, and posts the CDM's license request to the key
 * service's `/clearkey` with the viewer's token; without a token the license is refused (401) and
 * playback does not start.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { Page } from 'playwright-core';
import { freePort } from '../../bench/support/manifest-fixtures';
import { commonEncryptionPolicy, viewersKeyPolicy } from '../../bench/support/origin-manifest';
import { Browser, launchChromium } from './support/browser';
import { OriginStack, startOriginStack } from '../../bench/support/origin-stack';
import { viewerToken } from '../../bench/support/tokens';

jest.setTimeout(120_000);

const JWT_SECRET = `test-jwt-secret-${randomBytes(24).toString('hex')}`;
const LOCATOR = randomUUID();

let stack: OriginStack;
let browser: Browser;
let pageServer: http.Server;
let pageOrigin: string;

/** The player page: hls.js with EME on, ClearKey's license URL, the token on license requests only. */
function playerPage(originPort: number): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>livestack cbcs player</title></head>
<body>
<video id="video" muted playsinline width="640" height="360"></video>
<script src="http://127.0.0.1:${originPort}/preview/hls.min.js"></script>
<script>
  window.events = [];
  window.licenses = [];
  window.startPlayer = (source, licenseUrl, token) => {
    const video = document.getElementById('video');
    const hls = new Hls({
      emeEnabled: true,
      drmSystems: { 'org.w3.clearkey': { licenseUrl } },
      licenseXhrSetup: (xhr) => {
        if (token) xhr.setRequestHeader('Authorization', 'Bearer ' + token);
        xhr.addEventListener('loadend', () => window.licenses.push(xhr.status));
      },
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
    programs: [{ name: 'show', assetName: 'show' }],
    keyPolicies: [viewersKeyPolicy()],
    deliveryPolicies: [commonEncryptionPolicy('cbcs', 'viewers')],
    locators: [{ name: 'drm', program: 'show', deliveryPolicy: 'cbcs', id: LOCATOR }],
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
  await page.evaluate(([source, licenseUrl, bearer]) => (window as unknown as { startPlayer(...a: unknown[]): void }).startPlayer(source, licenseUrl, bearer), [
    stack.url(`/${LOCATOR}/manifest.m3u8`), `http://127.0.0.1:${stack.keyPort}/clearkey`, token,
  ]);
  return page;
}

const currentTime = (page: Page) => page.evaluate(() => (document.getElementById('video') as HTMLVideoElement).currentTime);
const playerState = (page: Page) => page.evaluate(() => ({
  events: (window as unknown as { events: string[] }).events,
  licenses: (window as unknown as { licenses: number[] }).licenses,
}));

test('GIVEN a valid token on the license request WHEN hls.js plays the cbcs locator with ClearKey THEN currentTime advances by at least 5 s', async () => {
  const page = await openPlayer(viewerToken(JWT_SECRET));

  await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).currentTime > 0, undefined, { timeout: 40_000 })
    .catch(async (error: Error) => { throw new Error(`${error.message}; player: ${JSON.stringify(await playerState(page))}`); });
  const started = await currentTime(page);
  await page.waitForFunction((from) => (document.getElementById('video') as HTMLVideoElement).currentTime >= from + 5, started, { timeout: 30_000 });
  const { events, licenses } = await playerState(page);

  expect((await currentTime(page)) - started).toBeGreaterThanOrEqual(5);
  expect(licenses.length).toBeGreaterThanOrEqual(1);
  expect(licenses.every((status) => status === 200)).toBe(true);
  expect(events.filter((e) => e.includes('fatal'))).toEqual([]);
  await page.close();
});

test('refuses the license without a token (401): playback does not start', async () => {
  const page = await openPlayer(undefined);

  await page.waitForFunction(() => (window as unknown as { licenses: number[] }).licenses.length > 0, undefined, { timeout: 30_000 });
  await page.waitForTimeout(3_000);
  const { licenses } = await playerState(page);

  expect(licenses).toContain(401);
  expect(licenses).not.toContain(200);
  expect(await currentTime(page)).toBe(0);
  await page.close();
});
