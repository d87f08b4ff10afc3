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
