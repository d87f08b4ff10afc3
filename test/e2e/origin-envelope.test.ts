/**
 * AES-128 envelope encryption end to end, as examples/protected sets it up: a token key policy
 * (HS256, secret from a sensitive Terraform variable, a required claim) and an envelope HLS delivery
 * policy. ffmpeg plays through the origin and the key service with the token in either form; without
 * the key, what the origin serves is not media.
 */
import { createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { storagePaths } from '../../lib/contract/storage-layout';
import { clearPolicy, envelopePolicy, viewersKeyPolicy } from '../../bench/support/origin-manifest';
import { decodedFrameDigests, probe } from './support/media-probe';
import { keyLeaks, OriginStack, startOriginStack } from '../../bench/support/origin-stack';
import { viewerToken } from '../../bench/support/tokens';
import { rawRequest } from './support/raw-http';

jest.setTimeout(120_000);

const JWT_SECRET = `test-jwt-secret-${randomBytes(24).toString('hex')}`;
const CLEAR = randomUUID();
const PROTECTED = randomUUID();
const VARIANTS = ['r180', 'r90'];
/** Video of each HLS variant (ffmpeg makes one program per variant), then the audio rendition. */
const MASTER_MAPS = ['0:p:0:v', '0:p:1:v', '0:a:0'];

let stack: OriginStack;
let token: string;
let reference: string[][];
let scratch: string;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-envelope-'));
  stack = await startOriginStack({
    env: { ...process.env, TF_VAR_jwt_secret: JWT_SECRET },
    programs: [{ name: 'vod', assetName: 'vod' }],
    keyPolicies: [viewersKeyPolicy(30)],
    deliveryPolicies: [clearPolicy(), envelopePolicy('viewers')],
    locators: [
      { name: 'clear', program: 'vod', deliveryPolicy: 'clear', id: CLEAR },
      { name: 'protected', program: 'vod', deliveryPolicy: 'envelope', id: PROTECTED },
    ],
    assets: [{ asset: 'vod', durationSeconds: 10 }],
  });
  token = viewerToken(JWT_SECRET);
  // What the stored files decode to, read straight from the storage (no origin involved).
  const stored = (rendition: string) => storagePaths.renditionPlaylist(stack.storageDir, 'vod', rendition);
  reference = await Promise.all([...VARIANTS, 'audio'].map(async (r) => (await decodedFrameDigests(stored(r), { maps: ['0'] }))[0]));
});

afterAll(async () => {
  await stack?.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('GIVEN a valid token in an Authorization header WHEN ffmpeg plays the protected master THEN every rendition decodes to the stored frames', async () => {
  const decoded = await decodedFrameDigests(stack.url(`/${PROTECTED}/manifest.m3u8`), {
    maps: MASTER_MAPS,
    inputArgs: ['-headers', `Authorization: Bearer ${token}\r\n`],
  });

  expect(reference[0].length).toBe(250);
  expect(decoded).toEqual(reference);
});

test('GIVEN a valid token as the token query parameter WHEN ffmpeg plays the protected master THEN every rendition decodes to the stored frames', async () => {
  const master = await (await fetch(stack.url(`/${PROTECTED}/manifest.m3u8?token=${token}`))).text();
  const media = await (await fetch(stack.url(`/${PROTECTED}/r180/index.m3u8?token=${token}`))).text();

  const decoded = await decodedFrameDigests(stack.url(`/${PROTECTED}/manifest.m3u8?token=${token}`), { maps: MASTER_MAPS });

  expect(master).toContain(`r180/index.m3u8?token=${token}`);
  expect(media).toContain(`URI="${stack.keyUrl(PROTECTED)}?token=${token}"`);
  expect(decoded).toEqual(reference);
});

test('refuses the content key without a token, and ffmpeg without the key decodes nothing', async () => {
  const key = await fetch(stack.keyUrl(PROTECTED));

  const failure = await decodedFrameDigests(stack.url(`/${PROTECTED}/manifest.m3u8`), { maps: MASTER_MAPS })
    .then((frames) => `decoded ${frames.map((f) => f.length).join('/')} frames`, (error: { stderr?: string }) => error.stderr ?? '');

  expect(key.status).toBe(401);
  expect(key.headers.get('www-authenticate')).toMatch(/^Bearer /);
  expect(failure).toContain(`Unable to open key file ${stack.keyUrl(PROTECTED)}`);
  expect(failure).toContain('Invalid data found when processing input');
});

test('serves segments that are really AES-128 encrypted: not media without the key, the stored file with it', async () => {
  const [init, segment] = ['init_0.mp4', 'seg-00001.m4s'];
  const get = async (locator: string, file: string) => Buffer.from(await (await fetch(stack.url(`/${locator}/r180/${file}`))).arrayBuffer());
  const storedInit = fs.readFileSync(path.join(storagePaths.renditionDir(stack.storageDir, 'vod', 'r180'), init));
  const storedSegment = fs.readFileSync(path.join(storagePaths.renditionDir(stack.storageDir, 'vod', 'r180'), segment));
  const playlist = await (await fetch(stack.url(`/${PROTECTED}/r180/index.m3u8`))).text();
  const key = Buffer.from(await (await fetch(stack.keyUrl(PROTECTED), { headers: { Authorization: `Bearer ${token}` } })).arrayBuffer());

  const [encryptedInit, encryptedSegment, clearInit, clearSegment] = await Promise.all([
    get(PROTECTED, init), get(PROTECTED, segment), get(CLEAR, init), get(CLEAR, segment),
  ]);
  fs.writeFileSync(path.join(scratch, 'encrypted.mp4'), Buffer.concat([encryptedInit, encryptedSegment]));
  fs.writeFileSync(path.join(scratch, 'clear.mp4'), Buffer.concat([clearInit, clearSegment]));

  expect(clearSegment.equals(storedSegment)).toBe(true);
  expect(encryptedSegment.equals(storedSegment)).toBe(false);
  expect(encryptedSegment.includes(storedSegment.subarray(0, 64))).toBe(false);
  expect((await probe(path.join(scratch, 'clear.mp4'))).ok).toBe(true);
  expect((await probe(path.join(scratch, 'encrypted.mp4'))).ok).toBe(false);
  expect(key.length).toBe(16);
  expect(decrypt(encryptedInit, key, ivOf(playlist, init)).equals(storedInit)).toBe(true);
  expect(decrypt(encryptedSegment, key, ivOf(playlist, segment)).equals(storedSegment)).toBe(true);
});

test('never logs the content key, the token or the JWT secret', async () => {
  const logs = stack.workloadLogs();

  expect(logs.length).toBeGreaterThan(0);
  expect(keyLeaks(logs, stack.contentKey(PROTECTED))).toEqual([]);
  expect(logs.includes(token)).toBe(false);
  expect(logs.includes(token.split('.')[2])).toBe(false);
  expect(logs.includes(JWT_SECRET)).toBe(false);
});

/** The IV of the EXT-X-KEY in effect for `file` in a media playlist. */
function ivOf(playlist: string, file: string): Buffer {
  let iv: string | undefined;
  for (const line of playlist.split('\n')) {
    const match = /^#EXT-X-KEY:.*IV=0x([0-9a-fA-F]{32})/.exec(line);
    if (match) iv = match[1];
    if (line === file || line === `#EXT-X-MAP:URI="${file}"`) break;
  }
  if (!iv) throw new Error(`no EXT-X-KEY IV before ${file} in:\n${playlist}`);
  return Buffer.from(iv, 'hex');
}

function decrypt(body: Buffer, key: Buffer, iv: Buffer): Buffer {
  const decipher = createDecipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([decipher.update(body), decipher.final()]);
}

test('writes key URIs from configuration, never from a forged Host header (a shared cache would pass it on)', async () => {
  const port = Number(new URL(stack.url('/')).port);

  const forged = await rawRequest(port, `/${PROTECTED}/r180/index.m3u8`, { headers: { Host: 'evil.example:8390' } });

  expect(forged.status).toBe(200);
  expect(forged.body.toString()).not.toContain('evil.example');
  expect(forged.body.toString()).toContain(`URI="${stack.keyUrl(PROTECTED)}"`);
});

describe.each([['clear', CLEAR], ['encrypted', PROTECTED]])('byte ranges on %s segments', (_kind, locator) => {
  /** Segment hits of the origin's fast path (hot-segments.ts), from its metrics. */
  const hotHits = async () => {
    const text = await (await fetch(stack.url('/metrics'))).text();
    return Number(/livestack_origin_cache_requests_total\{[^}]*cache="segment"[^}]*result="hit"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  test('answers 206 with the right bytes cold and hot, suffix ranges, 416 when unsatisfiable, and HEAD', async () => {
    // GIVEN two segments of the locator, neither requested yet
    const media = await (await fetch(stack.url(`/${locator}/r180/index.m3u8`))).text();
    const [first, second] = media.split('\n').filter((line) => line !== '' && !line.startsWith('#') && line.endsWith('.m4s'));
    const segment = (name: string) => stack.url(`/${locator}/r180/${name}`);

    // WHEN the first request for a segment asks for a range (cold: nothing cached for this URL)
    const cold = await fetch(segment(second), { headers: { Range: 'bytes=100-299' } });
    const coldBytes = Buffer.from(await cold.arrayBuffer());
    const whole = await fetch(segment(second));
    const body = Buffer.from(await whole.arrayBuffer());
    // AND the same range again at once (hot: answered by the fast path from the whole answer)
    const hitsBefore = await hotHits();
    const hot = await fetch(segment(second), { headers: { Range: 'bytes=100-299' } });
    const hotBytes = Buffer.from(await hot.arrayBuffer());
    const hitsAfter = await hotHits();

    // THEN both are 206 with exactly those bytes of the whole body
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(body.length).toBeGreaterThan(300);
    for (const [answer, bytes] of [[cold, coldBytes], [hot, hotBytes]] as const) {
      expect(answer.status).toBe(206);
      expect(answer.headers.get('content-range')).toBe(`bytes 100-299/${body.length}`);
      expect(answer.headers.get('accept-ranges')).toBe('bytes');
      expect(answer.headers.get('content-length')).toBe('200');
      expect(bytes.equals(body.subarray(100, 300))).toBe(true);
    }
    expect(hitsAfter).toBeGreaterThan(hitsBefore);

    // AND a suffix range is the end of the body, an open range runs to the end
    const suffix = await fetch(segment(first), { headers: { Range: 'bytes=-100' } });
    const firstBody = Buffer.from(await (await fetch(segment(first))).arrayBuffer());
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe(`bytes ${firstBody.length - 100}-${firstBody.length - 1}/${firstBody.length}`);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(firstBody.subarray(firstBody.length - 100))).toBe(true);
    const open = await fetch(segment(first), { headers: { Range: `bytes=${firstBody.length - 10}-` } });
    expect(Buffer.from(await open.arrayBuffer()).equals(firstBody.subarray(firstBody.length - 10))).toBe(true);

    // AND a range past the end is 416, naming the size, cold and hot alike
    for (const name of [first, second]) {
      const beyond = await fetch(segment(name), { headers: { Range: 'bytes=99999999-' } });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get('content-range')).toMatch(/^bytes \*\/\d+$/);
      await beyond.arrayBuffer();
    }

    // AND HEAD answers the sizes without a body
    const head = await fetch(segment(second), { method: 'HEAD' });
    const headRange = await fetch(segment(second), { method: 'HEAD', headers: { Range: 'bytes=0-9' } });
    expect([head.status, head.headers.get('content-length'), head.headers.get('accept-ranges')]).toEqual([200, String(body.length), 'bytes']);
    expect([headRange.status, headRange.headers.get('content-length'), headRange.headers.get('content-range')]).toEqual([206, '10', `bytes 0-9/${body.length}`]);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });
});
