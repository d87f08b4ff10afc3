/**
 * What the origin refuses and how it answers, against the real workloads run by the local driver:
 * locator windows (404 before, 410 after), protocols outside the delivery policy, path traversal sent
 * as raw request targets, clients outside the allow lists (connecting from other loopback addresses),
 * CORS per endpoint, cache headers, /healthz and Prometheus /metrics on the origin and key service.
 */
import { randomUUID } from 'node:crypto';
import { contentKeyId } from '../../lib/contract/content-keys';
import { clearPolicy, envelopePolicy, openKeyPolicy } from '../../bench/support/origin-manifest';
import { keyLeaks, OriginStack, startOriginStack } from '../../bench/support/origin-stack';
import { rawRequest } from './support/raw-http';

jest.setTimeout(60_000);

const PLAYER = 'https://player.example.com';
const HOUR = 3600_000;
const CURRENT = randomUUID();
const DASH_ONLY = randomUUID();
const NOT_YET = randomUUID();
const WITHDRAWN = randomUUID();
const PROTECTED = randomUUID();
const LIVE = randomUUID();
const ON_SECOND = randomUUID();
const ENDING = randomUUID();
/** Addresses the endpoint lets in; 127.0.0.3 is not in the preview allow list, 127.0.0.4 in none. */
const ENDPOINT_ALLOW = ['127.0.0.1/32', '127.0.0.3/32'];

let stack: OriginStack;

beforeAll(async () => {
  const now = Date.now();
  stack = await startOriginStack({
    allowList: ENDPOINT_ALLOW,
    corsAllowedOrigins: [PLAYER],
    secondEndpointCors: ['https://other.example.com'],
    previewAllowList: ['127.0.0.1/32'],
    keyDeliveryAllowList: ['127.0.0.1/32'],
    programs: [{ name: 'vod', assetName: 'vod' }, { name: 'live', assetName: 'live' }],
    keyPolicies: [openKeyPolicy()],
    deliveryPolicies: [clearPolicy(['hls'], 'hls-only'), clearPolicy(['dash'], 'dash-only'), envelopePolicy('open')],
    locators: [
      { name: 'current', program: 'vod', deliveryPolicy: 'hls-only', id: CURRENT, start: iso(now - HOUR), end: iso(now + HOUR) },
      { name: 'dash', program: 'vod', deliveryPolicy: 'dash-only', id: DASH_ONLY },
      { name: 'not-yet', program: 'vod', deliveryPolicy: 'hls-only', id: NOT_YET, start: iso(now + HOUR) },
      { name: 'withdrawn', program: 'vod', deliveryPolicy: 'hls-only', id: WITHDRAWN, start: iso(now - 2 * HOUR), end: iso(now - HOUR) },
      { name: 'protected', program: 'vod', deliveryPolicy: 'envelope', id: PROTECTED },
      { name: 'live', program: 'live', deliveryPolicy: 'hls-only', id: LIVE },
      { name: 'second', program: 'vod', deliveryPolicy: 'hls-only', id: ON_SECOND, endpoint: 'second' },
      { name: 'ending', program: 'vod', deliveryPolicy: 'hls-only', id: ENDING },
    ],
    assets: [{ asset: 'vod', durationSeconds: 6 }, { asset: 'live', durationSeconds: 6, state: 'recording' }],
  });
});

afterAll(async () => {
  await stack?.stop();
});

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function sleepUntil(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())));
}

const get = (target: string, options: Parameters<typeof rawRequest>[2] = {}) => rawRequest(stack.endpointPort, target, options);

describe('locators', () => {
  test('GIVEN a locator inside its window WHEN its master is asked for THEN it is served', async () => {
    expect((await get(`/${CURRENT}/manifest.m3u8`)).status).toBe(200);
  });

  test('refuses a locator before its start with 404', async () => {
    const answer = await get(`/${NOT_YET}/manifest.m3u8`);

    expect(answer.status).toBe(404);
    expect(answer.body.toString()).toContain('not published yet');
  });

  test('refuses a locator after its end with 410', async () => {
    const answer = await get(`/${WITHDRAWN}/r180/seg-00000.m4s`);

    expect(answer.status).toBe(410);
    expect(answer.body.toString()).toContain('withdrawn');
  });

  test('refuses an unknown locator with 404', async () => {
    expect((await get(`/${randomUUID()}/manifest.m3u8`)).status).toBe(404);
  });

  test('refuses DASH on a locator whose delivery policy lists only HLS', async () => {
    const answer = await get(`/${CURRENT}/manifest.mpd`);

    expect(answer.status).toBe(403);
    expect(answer.body.toString()).toContain('protocol dash is not allowed by this locator\'s delivery policy');
  });

  test('refuses HLS on a locator whose delivery policy lists only DASH, which it serves', async () => {
    const [master, media, mpd] = await Promise.all([get(`/${DASH_ONLY}/manifest.m3u8`), get(`/${DASH_ONLY}/r180/index.m3u8`), get(`/${DASH_ONLY}/manifest.mpd`)]);

    expect([master.status, media.status, mpd.status]).toEqual([403, 403, 200]);
  });

  test('refuses a locator\'s assets on an endpoint it is not published on', async () => {
    const onSecond = await rawRequest(stack.secondEndpointPort!, `/${ON_SECOND}/manifest.m3u8`);
    const elsewhere = await rawRequest(stack.secondEndpointPort!, `/${CURRENT}/manifest.m3u8`);

    expect(onSecond.status).toBe(200);
    expect(elsewhere.status).toBe(404);
  });
});

describe('segments answered from the fast path (served moments ago)', () => {
  test('refuses a hot segment to a client outside the allow list', async () => {
    const target = `/${CURRENT}/r180/seg-00002.m4s`;
    const [first, again] = [await get(target), await get(target)];

    const outside = await get(target, { localAddress: '127.0.0.4' });

    expect([first.status, again.status]).toEqual([200, 200]);
    expect(outside.status).toBe(403);
  });

  test('refuses a hot segment with 410 once its locator\'s end has passed', async () => {
    // The locator gets an end a few seconds ahead, delivered to the running origin as live config.
    const endingAt = Date.now() + 4_000;
    const manifest = structuredClone(stack.manifest);
    const ending = manifest.accounts[0].locators.find((l) => l.id === ENDING)!;
    await stack.local.apply({ ...manifest, accounts: [{ ...manifest.accounts[0], locators: [...manifest.accounts[0].locators.filter((l) => l !== ending), { ...ending, end: iso(endingAt) }] }] });
    const target = `/${ENDING}/r90/seg-00001.m4s`;
    await sleepUntil(endingAt - 300);
    const before = [await get(target), await get(target)];
    await sleepUntil(endingAt + 50);

    const after = await get(target);

    expect(before.map((answer) => answer.status)).toEqual([200, 200]);
    expect(after.status).toBe(410);
  });
});

describe('path traversal (raw request targets)', () => {
  const keyFile = () => `keys/${contentKeyId(PROTECTED)}.key`;
  const refusals: [string, () => string][] = [
    ['a plain .. segment', () => `/${CURRENT}/../${CURRENT}/manifest.m3u8`],
    ['.. segments reaching the key store', () => `/${CURRENT}/r180/../../../../${keyFile()}`],
    ['percent-encoded %2e%2e segments', () => `/${CURRENT}/%2e%2e/%2e%2e/%2e%2e/${keyFile()}`],
    ['upper-case %2E%2E with an encoded slash', () => `/${CURRENT}/r180/%2E%2E%2F%2E%2E%2Fasset.json`],
    ['encoded backslashes', () => `/${CURRENT}/r180/..%5c..%5casset.json`],
    ['an absolute path after the locator', () => `/${CURRENT}//etc/passwd`],
    ['an encoded absolute path as a file name', () => `/${CURRENT}/r180/%2Fetc%2Fpasswd`],
    ['an absolute-form request target', () => `http://127.0.0.1:${stack.endpointPort}/${CURRENT}/../../${keyFile()}`],
  ];

  test.each(refusals)('refuses %s with 400, leaking nothing', async (_name, target) => {
    const answer = await get(target());

    expect(answer.status).toBe(400);
    expect(answer.body.toString()).toMatch(/^path refused: /);
    expect(keyLeaks(answer.body, stack.contentKey(PROTECTED))).toEqual([]);
  });

  test('refuses a request target that is not a path (node\'s HTTP parser answers 400)', async () => {
    const answer = await get('etc/passwd');

    expect(answer.status).toBe(400);
    expect(answer.body.length).toBe(0);
  });

  test('refuses a file outside the media files of a rendition with 404', async () => {
    const [descriptor, playlistAsSegment] = await Promise.all([get(`/${CURRENT}/r180/asset.json`), get(`/${CURRENT}/r180/index.m3u8.bak`)]);

    expect(descriptor.status).toBe(404);
    expect(playlistAsSegment.status).toBe(404);
  });
});

describe('allow lists', () => {
  test('refuses a client outside the endpoint\'s allow list with 403', async () => {
    const outside = await get(`/${CURRENT}/manifest.m3u8`, { localAddress: '127.0.0.4' });
    const inside = await get(`/${CURRENT}/manifest.m3u8`, { localAddress: '127.0.0.3' });

    expect(outside.status).toBe(403);
    expect(outside.body.toString()).toContain('not in this streaming endpoint\'s allow list');
    expect(inside.status).toBe(200);
  });

  test('refuses the preview page to a client outside the channel\'s preview allow list', async () => {
    const outside = await get('/preview/news', { localAddress: '127.0.0.3' });
    const inside = await get('/preview/news');

    expect(outside.status).toBe(403);
    expect(inside.status).toBe(200);
    expect(inside.body.toString()).toContain('<script src="/preview/hls.min.js"></script>');
  });

  test('refuses a key request from outside the key delivery allow list', async () => {
    const outside = await rawRequest(stack.keyPort, `/keys/${contentKeyId(PROTECTED)}`, { localAddress: '127.0.0.3' });
    const inside = await rawRequest(stack.keyPort, `/keys/${contentKeyId(PROTECTED)}`);

    expect(outside.status).toBe(403);
    expect(outside.body.length).toBeLessThan(100);
    expect(inside.status).toBe(200);
    expect(inside.body.equals(stack.contentKey(PROTECTED))).toBe(true);
  });
});

describe('CORS per endpoint', () => {
  test('GIVEN an allowed origin WHEN it asks for a playlist THEN the answer names it', async () => {
    const answer = await get(`/${CURRENT}/manifest.m3u8`, { headers: { Origin: PLAYER } });

    expect(answer.headers['access-control-allow-origin']).toBe(PLAYER);
    expect(answer.headers.vary).toBe('Origin');
  });

  test('refuses CORS headers to an origin this endpoint does not list, though another endpoint lists it', async () => {
    const answer = await get(`/${CURRENT}/manifest.m3u8`, { headers: { Origin: 'https://other.example.com' } });
    const onSecond = await rawRequest(stack.secondEndpointPort!, `/${ON_SECOND}/manifest.m3u8`, { headers: { Origin: 'https://other.example.com' } });

    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(onSecond.headers['access-control-allow-origin']).toBe('https://other.example.com');
  });

  test('GIVEN a preflight asking for Authorization WHEN the origin and key service answer THEN both allow it', async () => {
    const preflight = { method: 'OPTIONS', headers: { Origin: PLAYER, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' } };

    const [origin, keys] = await Promise.all([
      get(`/${CURRENT}/manifest.m3u8`, preflight),
      rawRequest(stack.keyPort, `/keys/${contentKeyId(PROTECTED)}`, preflight),
    ]);

    for (const answer of [origin, keys]) {
      expect(answer.status).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(PLAYER);
      expect(answer.headers['access-control-allow-headers']).toMatch(/Authorization/);
    }
  });

  test('refuses a preflight from an origin that is not listed', async () => {
    const answer = await get(`/${CURRENT}/manifest.m3u8`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'GET' } });

    expect(answer.status).toBe(403);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('cache headers', () => {
  test('GIVEN VOD and live playlists and segments WHEN they are served THEN playlists are short-lived and segments immutable', async () => {
    const [vodMaster, vodMedia, liveMedia, segment, encrypted, refused] = await Promise.all([
      get(`/${CURRENT}/manifest.m3u8`),
      get(`/${CURRENT}/r180/index.m3u8`),
      get(`/${LIVE}/r180/index.m3u8`),
      get(`/${CURRENT}/r180/seg-00001.m4s`),
      get(`/${PROTECTED}/r180/seg-00001.m4s`),
      get(`/${NOT_YET}/manifest.m3u8`),
    ]);

    expect(vodMaster.headers['cache-control']).toBe('public, max-age=60');
    expect(vodMedia.headers['cache-control']).toBe('public, max-age=60');
    expect(liveMedia.headers['cache-control']).toBe('public, max-age=1');
    expect(segment.headers['cache-control']).toBe('public, max-age=86400, immutable');
    expect(encrypted.headers['cache-control']).toBe('public, max-age=86400, immutable');
    expect(refused.headers['cache-control']).toBe('no-store');
  });

  test('GIVEN a token in the query WHEN a playlist carries it on THEN the playlist is private to that player', async () => {
    const answer = await get(`/${PROTECTED}/r180/index.m3u8?token=abc.def.ghi`);

    expect(answer.headers['cache-control']).toBe('private, max-age=60');
    expect(answer.body.toString()).toContain('?token=abc.def.ghi"');
  });
});

describe('health and metrics', () => {
  test('GIVEN the origin and key service WHEN /healthz is asked for THEN both answer ok', async () => {
    const [origin, keys] = await Promise.all([get('/healthz'), rawRequest(stack.keyPort, '/healthz')]);

    expect([origin.status, origin.body.toString()]).toEqual([200, 'ok\n']);
    expect([keys.status, keys.body.toString()]).toEqual([200, 'ok\n']);
  });

  test('GIVEN segment requests (the second from cache) WHEN /metrics is scraped THEN requests, bytes, latency and cache hits are counted', async () => {
    const first = await get(`/${CURRENT}/r90/seg-00002.m4s`);
    await get(`/${CURRENT}/r90/seg-00002.m4s`);
    await get(`/${PROTECTED}/r90/seg-00002.m4s`);
    await get(`/${PROTECTED}/r90/seg-00002.m4s`);

    const metrics = (await get('/metrics')).body.toString();

    expect(first.status).toBe(200);
    expect(sample(metrics, 'livestack_origin_requests_total', { kind: 'segment', code: '200' })).toBeGreaterThanOrEqual(4);
    expect(sample(metrics, 'livestack_origin_requests_total', { kind: 'master', code: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, 'livestack_origin_response_bytes_total', { kind: 'segment' })).toBeGreaterThanOrEqual(first.body.length * 2);
    expect(sample(metrics, 'livestack_origin_request_duration_seconds_count', { kind: 'segment' })).toBeGreaterThanOrEqual(4);
    expect(sample(metrics, 'livestack_origin_request_duration_seconds_bucket', { kind: 'segment', le: '+Inf' })).toBeGreaterThanOrEqual(4);
    expect(sample(metrics, 'livestack_origin_cache_requests_total', { cache: 'segment', result: 'hit' })).toBeGreaterThanOrEqual(2);
    expect(sample(metrics, 'livestack_origin_cache_requests_total', { cache: 'encrypted', result: 'hit' })).toBeGreaterThanOrEqual(1);
  });

  test('GIVEN key requests WHEN the key service\'s /metrics is scraped THEN requests and decisions are counted', async () => {
    await rawRequest(stack.keyPort, `/keys/${contentKeyId(PROTECTED)}`);

    const metrics = (await rawRequest(stack.keyPort, '/metrics')).body.toString();

    expect(sample(metrics, 'livestack_keys_requests_total', { kind: 'key', code: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, 'livestack_keys_decisions_total', { policy: 'open', result: 'granted' })).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, 'livestack_keys_request_duration_seconds_count', { kind: 'key' })).toBeGreaterThanOrEqual(1);
  });
});

/** The value of one sample of a Prometheus text exposition, matched by name and the given labels. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const matches = Object.entries(labels).every(([label, value]) => line.includes(`${label}="${value}"`));
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return Number.NaN;
}

