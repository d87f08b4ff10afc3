/**
 * Common encryption through the real origin and key service (local driver, ffmpeg-made recordings):
 * a `cenc` (DASH) and a `cbcs` (HLS and DASH) locator under a token key policy. What the origin
 * serves is checked against the clear files in the storage by two decrypters that share no code with
 * the packager — test/support/cenc-decrypter.ts (written from ISO/IEC 23001-7) and ffmpeg's
 * `-decryption_key` — with the key a player gets: a ClearKey license from the key service, asked for
 * with a token. Without a token there is no license, and without the key the pictures do not decode.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { contentKeyId } from '../../lib/contract/content-keys';
import { storagePaths } from '../../lib/contract/storage-layout';
import { CLEARKEY_SYSTEM_ID } from '../../lib/dataplane/keys/clearkey';
import { dashSegmentPath } from '../../lib/dataplane/origin/dash-render';
import { parseMediaPlaylist } from '../../lib/dataplane/media-playlist';
import { commonEncryptionPolicy, viewersKeyPolicy } from '../../bench/support/origin-manifest';
import { keyLeaks, OriginStack, startOriginStack } from '../../bench/support/origin-stack';
import { viewerToken } from '../../bench/support/tokens';
import { decryptSegment, readTrackEncryption, sampleBytes } from '../support/cenc-decrypter';

const run = promisify(execFile);
jest.setTimeout(180_000);

const JWT_SECRET = `test-jwt-secret-${randomBytes(24).toString('hex')}`;
const LOCATORS = { cenc: randomUUID(), cbcs: randomUUID() } as const;
const RENDITIONS = ['r180', 'r90', 'audio'];

let stack: OriginStack;
let token: string;
let scratch: string;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-cenc-origin-'));
  stack = await startOriginStack({
    env: { ...process.env, TF_VAR_jwt_secret: JWT_SECRET },
    programs: [{ name: 'vod', assetName: 'vod' }],
    keyPolicies: [viewersKeyPolicy(30)],
    deliveryPolicies: [commonEncryptionPolicy('cenc', 'viewers'), commonEncryptionPolicy('cbcs', 'viewers')],
    locators: [
      { name: 'dash-drm', program: 'vod', deliveryPolicy: 'cenc', id: LOCATORS.cenc },
      { name: 'any-drm', program: 'vod', deliveryPolicy: 'cbcs', id: LOCATORS.cbcs },
    ],
    assets: [{ asset: 'vod', durationSeconds: 8 }],
  });
  token = viewerToken(JWT_SECRET);
});

afterAll(async () => {
  await stack?.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

const kidOf = (locator: string) => Buffer.from(contentKeyId(locator), 'hex');
const get = async (requestPath: string) => {
  const response = await fetch(stack.url(requestPath));
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
};
const storedFile = (rendition: string, file: string) => fs.readFileSync(path.join(storagePaths.renditionDir(stack.storageDir, 'vod', rendition), file));
const storedSegments = (rendition: string) => parseMediaPlaylist(fs.readFileSync(storagePaths.renditionPlaylist(stack.storageDir, 'vod', rendition), 'utf8'), rendition).segments;

/** The ClearKey license a player would get: POST /clearkey with the KID in base64url. */
async function license(locator: string, bearer?: string): Promise<{ status: number; key?: Buffer }> {
  const response = await fetch(`http://127.0.0.1:${stack.keyPort}/clearkey`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ kids: [kidOf(locator).toString('base64url')], type: 'temporary' }),
  });
  if (response.status !== 200) return { status: response.status };
  const { keys } = await response.json() as { keys: { kid: string; k: string }[] };
  expect(keys.map((k) => k.kid)).toEqual([kidOf(locator).toString('base64url')]);
  return { status: 200, key: Buffer.from(keys[0].k, 'base64url') };
}

/** framemd5 lines of a file, decrypted with `key` when given; undefined when ffmpeg cannot decode it at all. */
async function frameHashes(file: string, key?: Buffer): Promise<string[] | undefined> {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', ...(key ? ['-decryption_key', key.toString('hex')] : []), '-i', file, '-f', 'framemd5', '-'];
  try {
    const { stdout } = await run('ffmpeg', args, { timeout: 60_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 });
    return stdout.split('\n').filter((l) => l && !l.startsWith('#'));
  } catch {
    return undefined;
  }
}

test('the cenc MPD signals mp4protection with the default KID and ClearKey with the key service\'s license URL, carrying the player\'s token on', async () => {
  const mpd = (await get(`/${LOCATORS.cenc}/manifest.mpd?token=${token}`)).body.toString();
  const hex = contentKeyId(LOCATORS.cenc);
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

  expect(mpd).toContain(`<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="${uuid}"/>`);
  expect(mpd).toContain(`<ContentProtection schemeIdUri="urn:uuid:${CLEARKEY_SYSTEM_ID}" value="ClearKey1.0">`);
  expect(mpd).toContain(`<dashif:Laurl>http://127.0.0.1:${stack.keyPort}/clearkey?token=${token}</dashif:Laurl>`);
  expect((await get(`/${LOCATORS.cbcs}/manifest.mpd`)).body.toString()).toContain('value="cbcs"');
  // every AdaptationSet of every Period says so
  const sets = mpd.match(/<AdaptationSet /g)?.length ?? 0;
  expect(sets).toBeGreaterThanOrEqual(2);
  expect(mpd.match(/<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011"/g)).toHaveLength(sets);
  expect(mpd.match(/<dashif:Laurl>/g)).toHaveLength(sets);
});

test('the cbcs HLS media playlist carries SAMPLE-AES for ClearKey; cenc is not offered over HLS', async () => {
  const media = (await get(`/${LOCATORS.cbcs}/r180/index.m3u8`)).body.toString();
  const cencHls = await get(`/${LOCATORS.cenc}/manifest.m3u8`);

  expect(media).toContain(`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,${kidOf(LOCATORS.cbcs).toString('base64')}",KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1"`);
  expect(media).not.toContain('METHOD=AES-128');
  expect(cencHls.status).toBe(403);
  expect(cencHls.body.toString()).toMatch(/protocol hls is not allowed by this locator's delivery policy \(allowed: dash\)/);
});

test('refuses the license without a valid token (401), and gives the account\'s content key with one', async () => {
  const refused = await license(LOCATORS.cenc);
  const forged = await license(LOCATORS.cenc, viewerToken(`wrong-${JWT_SECRET}`));
  const granted = await license(LOCATORS.cenc, token);

  expect(refused.status).toBe(401);
  expect(forged.status).toBe(401);
  expect(granted.key?.equals(stack.contentKey(LOCATORS.cenc))).toBe(true);
});

describe.each(['cenc', 'cbcs'] as const)('%s', (scheme) => {
  test('GIVEN every rendition\'s init and segments from the origin WHEN the test decrypter applies the licensed key THEN every sample is the stored clear sample, and none of the protected video is', async () => {
    const { key } = await license(LOCATORS[scheme], token);
    for (const rendition of RENDITIONS) {
      const segments = storedSegments(rendition);
      const init = (await get(`/${LOCATORS[scheme]}/${rendition}/${segments[0].mapUri}`)).body;
      const encryption = readTrackEncryption(init);
      expect(encryption).toEqual(expect.objectContaining({ scheme, kid: kidOf(LOCATORS[scheme]) }));
      for (const segment of segments) {
        // cenc is DASH only: fetched where the MPD's SegmentTemplate points, as a DASH player does.
        const where = scheme === 'cenc' ? dashSegmentPath(rendition, segment.mapUri!, segment.sequence) : `${rendition}/${segment.uri}`;
        const served = (await get(`/${LOCATORS[scheme]}/${where}`)).body;
        const clear = sampleBytes(storedFile(rendition, segment.uri));

        expect(sampleBytes(decryptSegment(served, encryption, key!).clear).equals(clear)).toBe(true);
        expect(sampleBytes(served).equals(clear)).toBe(false);
      }
    }
  });

  test('GIVEN an init section and a segment from the origin WHEN ffmpeg decrypts them with the licensed key THEN every frame decodes as the clear file does, and without the key the video does not', async () => {
    const { key } = await license(LOCATORS[scheme], token);
    for (const rendition of RENDITIONS) {
      // One segment per file: ffmpeg 5.1 applies the last moof's encryption info to every packet.
      const segment = storedSegments(rendition)[1];
      const served = Buffer.concat([
        (await get(`/${LOCATORS[scheme]}/${rendition}/${segment.mapUri}`)).body,
        (await get(`/${LOCATORS[scheme]}/${rendition}/${segment.uri}`)).body,
      ]);
      const [protectedFile, clearFile] = [path.join(scratch, `${scheme}-${rendition}.mp4`), path.join(scratch, `clear-${rendition}.mp4`)];
      fs.writeFileSync(protectedFile, served);
      fs.writeFileSync(clearFile, Buffer.concat([storedFile(rendition, segment.mapUri!), storedFile(rendition, segment.uri)]));

      const clear = await frameHashes(clearFile);
      expect(clear?.length).toBeGreaterThan(0);
      expect(await frameHashes(protectedFile, key)).toEqual(clear);
      if (rendition !== 'audio') expect(await frameHashes(protectedFile)).not.toEqual(clear);
    }
  });
});

test('never logs the content keys or the token', async () => {
  const logs = stack.workloadLogs();

  expect(logs.length).toBeGreaterThan(0);
  expect(keyLeaks(logs, stack.contentKey(LOCATORS.cenc))).toEqual([]);
  expect(keyLeaks(logs, stack.contentKey(LOCATORS.cbcs))).toEqual([]);
  expect(logs.includes(token.split('.')[2])).toBe(false);
});
