/**
 * Dynamic packaging and envelope encryption over a stored asset made of ffmpeg's own fMP4 (the CMAF
 * fixtures, written into the storage layout in a temp folder): HLS master and media playlists, segment
 * bodies in the clear and AES-128 encrypted, decrypted back with the key from the account storage. No
 * process is started; the files are real.
 */
import { createDecipheriv } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AssetDescriptor, storagePaths } from '../../../lib/contract/storage-layout';
import { AssetStore, NotFoundError } from '../../../lib/dataplane/origin/asset-store';
import { TOKEN_SLOT } from '../../../lib/dataplane/origin/hls-render';
import { PackagingTarget, Packager } from '../../../lib/dataplane/origin/packager';
import { encryptSegment, ivAttribute, segmentIv } from '../../../lib/dataplane/origin/segment-crypto';
import { CLEARKEY_SYSTEM_ID } from '../../../lib/dataplane/keys/clearkey';
import { COMMON_SYSTEM_ID } from '../../../lib/dataplane/mp4/pssh';
import { decryptSegment, readTrackEncryption, sampleBytes } from '../../support/cenc-decrypter';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'cmaf');
const KEY_ID = '0123456789abcdef0123456789abcdef';
const ASSET = 'news-live';
const LICENSE_URL = 'http://keys.example.com:8090/clearkey';

function writeAsset(storage: string, state: 'recording' | 'stopped'): void {
  const renditions = [
    { name: 'v', type: 'video' as const, bandwidth: 80_000, codecs: 'avc1.42c00b', width: 160, height: 90, frameRate: 25 },
    { name: 'a', type: 'audio' as const, bandwidth: 40_000, codecs: 'mp4a.40.2', sampleRate: 48000, channels: 2 },
  ];
  for (const r of renditions) {
    const dir = storagePaths.renditionDir(storage, ASSET, r.name);
    fs.mkdirSync(dir, { recursive: true });
    const kind = r.type;
    fs.copyFileSync(path.join(FIXTURES, `${kind}-init.mp4`), path.join(dir, 'init.mp4'));
    for (const n of [0, 1, 2]) fs.copyFileSync(path.join(FIXTURES, `${kind}-segment.m4s`), path.join(dir, `seg-${n}.m4s`));
    const start = Date.parse('2026-12-01T12:00:00Z');
    const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-MAP:URI="init.mp4"'];
    for (const n of [0, 1, 2]) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(start + n * 1000).toISOString()}`, '#EXTINF:1.000000,', `seg-${n}.m4s`);
    if (state === 'stopped') lines.push('#EXT-X-ENDLIST');
    fs.writeFileSync(storagePaths.renditionPlaylist(storage, ASSET, r.name), `${lines.join('\n')}\n`);
  }
  const descriptor: AssetDescriptor = {
    version: 1, asset: ASSET, channel: 'news', program: 'live', state, archiveWindowSeconds: 300, segmentDurationSeconds: 1,
    container: 'fmp4', renditions, startedAt: '2026-12-01T12:00:00.000Z', updatedAt: '2026-12-01T12:00:03.000Z',
    ...(state === 'stopped' ? { stoppedAt: '2026-12-01T12:00:03.000Z' } : {}),
  };
  fs.writeFileSync(storagePaths.assetDescriptor(storage, ASSET), JSON.stringify(descriptor));
}

describe('Packager', () => {
  let storage: string;
  let packager: Packager;
  const clear: PackagingTarget = { assetName: ASSET, archiveWindowSeconds: 300 };
  const encrypted: PackagingTarget = { ...clear, keyId: KEY_ID };
  const text = (parts: readonly string[], token = '') => parts.join(token);

  beforeEach(() => {
    storage = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-packager-'));
    writeAsset(storage, 'stopped');
    const store = new AssetStore(storage, { cacheBytes: 8 << 20, metadataTtlMs: 0, revalidateMs: 60_000 });
    packager = new Packager(store, storage, { encryptedCacheBytes: 8 << 20, playlistTtlMs: 0, licenseUrl: LICENSE_URL }, () => undefined);
  });
  afterEach(() => fs.rmSync(storage, { recursive: true, force: true }));

  test('the master lists the video rendition with its codecs and the audio group, with a slot for the token', async () => {
    const master = await packager.master(clear);
    expect(text(master.parts, '?token=T')).toBe([
      '#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="a",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="a/index.m3u8?token=T"',
      '#EXT-X-STREAM-INF:BANDWIDTH=120000,CODECS="avc1.42c00b,mp4a.40.2",RESOLUTION=160x90,FRAME-RATE=25.000,AUDIO="audio"',
      'v/index.m3u8?token=T', '',
    ].join('\n'));
    expect(master.live).toBe(false);
  });

  test('a stopped asset\'s media playlist is VOD, with its init section, dates and every segment', async () => {
    const media = text((await packager.media(clear, 'v')).parts);
    expect(media).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(media).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(media.match(/^seg-\d\.m4s$/gm)).toEqual(['seg-0.m4s', 'seg-1.m4s', 'seg-2.m4s']);
    expect(media).toContain('#EXT-X-PROGRAM-DATE-TIME:2026-12-01T12:00:01.000Z');
    expect(media.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(media).not.toContain(TOKEN_SLOT);
  });

  test('an encrypted media playlist keys the init section and each segment with its own IV', async () => {
    const media = text((await packager.media(encrypted, 'v', 'https://keys.example.com/keys/k')).parts, '?token=T');
    const keys = media.match(/^#EXT-X-KEY:.*$/gm)!;
    expect(keys).toHaveLength(4);
    expect(keys[0]).toBe(`#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/keys/k?token=T",IV=${ivAttribute(segmentIv(KEY_ID, 'v', 'init.mp4'))}`);
    expect(new Set(keys.map((k) => k.replace(/.*IV=/, ''))).size).toBe(4);
  });

  test('segments are served as stored in the clear, and decrypt to the stored bytes when encrypted', async () => {
    const stored = fs.readFileSync(path.join(storagePaths.renditionDir(storage, ASSET, 'v'), 'seg-1.m4s'));
    expect((await packager.segment(clear, 'v', 'seg-1.m4s')).equals(stored)).toBe(true);
    const body = await packager.segment(encrypted, 'v', 'seg-1.m4s');
    expect(body.equals(stored)).toBe(false);
    expect(body.length % 16).toBe(0);
    const key = fs.readFileSync(storagePaths.contentKey(storage, KEY_ID));
    expect(key).toHaveLength(16);
    expect((fs.statSync(storagePaths.contentKey(storage, KEY_ID)).mode & 0o777)).toBe(0o600);
    const decipher = createDecipheriv('aes-128-cbc', key, segmentIv(KEY_ID, 'v', 'seg-1.m4s'));
    expect(Buffer.concat([decipher.update(body), decipher.final()]).equals(stored)).toBe(true);
    // The same file always encrypts to the same bytes (cacheable, and every replica agrees).
    expect(encryptSegment(stored, key, segmentIv(KEY_ID, 'v', 'seg-1.m4s')).equals(body)).toBe(true);
    expect(packager.peekSegment(encrypted, 'v', 'seg-1.m4s', Date.now())?.equals(body)).toBe(true);
  });

  test('refuses what is not a stored media segment of a declared rendition', async () => {
    await expect(packager.segment(clear, 'v', 'index.m3u8')).rejects.toThrow(NotFoundError);
    await expect(packager.segment(clear, 'x', 'seg-1.m4s')).rejects.toThrow(/no rendition x/);
    await expect(packager.segment(clear, 'v', 'seg-9.m4s')).rejects.toThrow(NotFoundError);
    await expect(packager.media(clear, 'nope')).rejects.toThrow(/no rendition nope/);
  });

  test('a recording asset is live: its playlist has no end, and the MPD is dynamic with the archive window', async () => {
    writeAsset(storage, 'recording');
    const media = await packager.media(clear, 'v');
    expect(media.live).toBe(true);
    expect(text(media.parts)).not.toContain('#EXT-X-ENDLIST');
    const mpd = text((await packager.mpd(clear)).parts);
    expect(mpd).toContain('type="dynamic"');
    expect(mpd).toMatch(/timeShiftBufferDepth="PT(5M|300(\.0+)?S)"/);
  });
});

describe('Packager, a low-latency recording (LL-HLS)', () => {
  let storage: string;
  let packager: Packager;
  const target: PackagingTarget = { assetName: ASSET, archiveWindowSeconds: 300 };
  const text = (parts: readonly string[]) => parts.join('');
  const part = (index: number) => ({ offset: 24 + index * 1000, length: 1000, durationSeconds: 0.3, independent: index === 0 });
  const segment = (n: number, parts: number, complete: boolean) => ({
    sequence: n, discontinuitySequence: 0, discontinuity: false, uri: `seg-${n}.m4s`, mapUri: 'init.mp4',
    programDateTimeMs: Date.parse('2026-12-01T12:00:00Z') + n * 1000, complete, durationSeconds: complete ? 1 : parts * 0.3,
    parts: Array.from({ length: parts }, (_v, i) => part(i)),
  });
  /** Ingest's live edge of rendition `v`: segments 0-2 complete (4 parts each), segment 3 being written with `writing` parts. */
  const writeEdge = (writing: number, thirdComplete = false) => {
    const segments = [segment(0, 4, true), segment(1, 4, true), segment(2, 4, true), segment(3, writing, thirdComplete)];
    const file = storagePaths.liveEdge(storage, ASSET, 'v');
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ version: 1, partTargetSeconds: 0.334, segments }));
    fs.renameSync(`${file}.tmp`, file);
  };

  beforeEach(() => {
    storage = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-packager-ll-'));
    writeAsset(storage, 'recording');
    const file = storagePaths.assetDescriptor(storage, ASSET);
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), lowLatency: { partTargetSeconds: 0.334 } }));
    fs.copyFileSync(path.join(FIXTURES, 'video-segment.m4s'), path.join(storagePaths.renditionDir(storage, ASSET, 'v'), 'seg-3.m4s'));
    writeEdge(2);
    const store = new AssetStore(storage, { cacheBytes: 8 << 20, metadataTtlMs: 0, revalidateMs: 60_000 });
    packager = new Packager(store, storage, { encryptedCacheBytes: 8 << 20, playlistTtlMs: 0, licenseUrl: LICENSE_URL }, () => undefined);
  });
  afterEach(() => {
    packager.close();
    fs.rmSync(storage, { recursive: true, force: true });
  });

  test('holds 500 requests for the next part, answers them all with the playlist that lists it once it is written', async () => {
    const held = Array.from({ length: 500 }, () => packager.lowLatencyMedia(target, 'v', { msn: 3, part: 2, skip: false }));
    let answered = 0;
    held.forEach((h) => void h.then(() => answered++));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(0);
    writeEdge(3);
    const answers = await Promise.all(held);
    const playlist = text(answers[0].parts);
    expect(playlist).toContain('#EXT-X-PART:DURATION=0.30000,URI="seg-3.part2.m4s"');
    expect(playlist).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg-3.part3.m4s"');
    expect(new Set(answers.map((a) => text(a.parts)))).toEqual(new Set([playlist]));
    // The answer names the part it waited for: caches may keep it for the longest hold.
    expect(answers[0].blockingMaxAgeSeconds).toBe(3);
  });

  test('refuses a request too far ahead (400) and a part without its segment (400); gives up after three target durations (503)', async () => {
    await expect(packager.lowLatencyMedia(target, 'v', { msn: 6, skip: false })).rejects.toMatchObject({ status: 400 });
    await expect(packager.lowLatencyMedia(target, 'v', { part: 1, skip: false })).rejects.toMatchObject({ status: 400 });
    const started = Date.now();
    await expect(packager.lowLatencyMedia(target, 'v', { msn: 3, part: 3, skip: false })).rejects.toMatchObject({ status: 503 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
  });

  test('serves a part as its byte range, holds the hinted one until written, and answers 404 once its segment ends without it', async () => {
    const file = fs.readFileSync(path.join(storagePaths.renditionDir(storage, ASSET, 'v'), 'seg-3.m4s'));
    expect((await packager.part(target, 'v', 'seg-3.part1.m4s')).equals(file.subarray(1024, 2024))).toBe(true);
    const hinted = packager.part(target, 'v', 'seg-3.part2.m4s');
    setTimeout(() => writeEdge(3), 200);
    expect((await hinted).equals(file.subarray(2024, 3024))).toBe(true);
    const never = packager.part(target, 'v', 'seg-3.part3.m4s');
    setTimeout(() => writeEdge(3, true), 200);
    await expect(never).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('Packager with common encryption', () => {
  let storage: string;
  let packager: Packager;
  const cenc: PackagingTarget = { assetName: ASSET, archiveWindowSeconds: 300, commonEncryption: { scheme: 'cenc', keyId: KEY_ID, keySystems: ['clearkey'] } };
  const cbcs: PackagingTarget = { ...cenc, commonEncryption: { ...cenc.commonEncryption!, scheme: 'cbcs' } };
  const text = (parts: readonly string[], token = '') => parts.join(token);
  const stored = (rendition: string, file: string) => fs.readFileSync(path.join(storagePaths.renditionDir(storage, ASSET, rendition), file));

  beforeEach(() => {
    storage = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-packager-cenc-'));
    writeAsset(storage, 'stopped');
    const store = new AssetStore(storage, { cacheBytes: 8 << 20, metadataTtlMs: 0, revalidateMs: 60_000 });
    packager = new Packager(store, storage, { encryptedCacheBytes: 8 << 20, playlistTtlMs: 0, licenseUrl: LICENSE_URL }, () => undefined);
  });
  afterEach(() => fs.rmSync(storage, { recursive: true, force: true }));

  test.each([['cenc', cenc], ['cbcs', cbcs]] as const)('%s: the init section carries the scheme, the KID and the common pssh; every segment decrypts to the stored samples with the account\'s content key', async (scheme, target) => {
    for (const rendition of ['v', 'a']) {
      const init = await packager.segment(target, rendition, 'init.mp4');
      const encryption = readTrackEncryption(init);
      const key = fs.readFileSync(storagePaths.contentKey(storage, KEY_ID));
      for (const file of ['seg-0.m4s', 'seg-2.m4s']) {
        const body = await packager.segment(target, rendition, file);
        const clearSamples = sampleBytes(stored(rendition, file));

        expect(sampleBytes(body).equals(clearSamples)).toBe(false);
        expect(sampleBytes(decryptSegment(body, encryption, key).clear).equals(clearSamples)).toBe(true);
        expect(packager.peekSegment(target, rendition, file, Date.now())).toBe(body);
      }
      expect(encryption).toEqual(expect.objectContaining({ scheme, kid: Buffer.from(KEY_ID, 'hex'), isProtected: 1 }));
      expect(encryption.pssh).toEqual([{ systemId: COMMON_SYSTEM_ID.replace(/-/g, ''), version: 1, kids: [Buffer.from(KEY_ID, 'hex')], dataSize: 0 }]);
    }
  });

  test('the same clear file protects to the same bytes (cacheable; every replica agrees), and two files never share IVs under cenc', async () => {
    const first = await packager.segment(cenc, 'v', 'seg-0.m4s');
    const other = new Packager(new AssetStore(storage, { cacheBytes: 1 << 20, metadataTtlMs: 0, revalidateMs: 0 }), storage, { encryptedCacheBytes: 1 << 20, playlistTtlMs: 0, licenseUrl: LICENSE_URL }, () => undefined);

    expect((await other.segment(cenc, 'v', 'seg-0.m4s')).equals(first)).toBe(true);
    // seg-0 and seg-1 are copies of one fixture: only their IVs tell them apart.
    expect((await packager.segment(cenc, 'v', 'seg-1.m4s')).equals(first)).toBe(false);
  });

  test('the MPD signals the scheme with the default KID, and ClearKey with its license URL (token slot) and no pssh (dash.js would send it as keyids), in every AdaptationSet', async () => {
    const mpd = text((await packager.mpd(cenc, 'https://keys.example.com/clearkey')).parts, '?token=T');
    const kid = `${KEY_ID.slice(0, 8)}-${KEY_ID.slice(8, 12)}-${KEY_ID.slice(12, 16)}-${KEY_ID.slice(16, 20)}-${KEY_ID.slice(20)}`;

    expect(mpd).toMatch(/<MPD xmlns:cenc="urn:mpeg:cenc:2013" xmlns:dashif="https:\/\/dashif.org\/CPS" xmlns="urn:mpeg:dash:schema:mpd:2011" /);
    expect(mpd.match(/<AdaptationSet [^\n]*>\n\s*<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="([^"]+)"\/>/g)).toHaveLength(2);
    expect(mpd).toContain(`cenc:default_KID="${kid}"`);
    expect(mpd.match(new RegExp(`<ContentProtection schemeIdUri="urn:uuid:${CLEARKEY_SYSTEM_ID}" value="ClearKey1.0">\\n\\s*<dashif:Laurl>https://keys.example.com/clearkey\\?token=T</dashif:Laurl>\\n\\s*</ContentProtection>`, 'g'))).toHaveLength(2);
    expect(text((await packager.mpd(cbcs, 'https://keys.example.com/clearkey')).parts)).toContain('value="cbcs"');
    expect(text((await packager.mpd({ assetName: ASSET, archiveWindowSeconds: 300 })).parts)).not.toContain('ContentProtection');
  });

  test('a cbcs media playlist carries one SAMPLE-AES key for ClearKey (the KID in a data URI) and no IV; the init section is not encrypted as a whole', async () => {
    const media = text((await packager.media(cbcs, 'v')).parts, '?token=T');
    const keys = media.match(/^#EXT-X-KEY:.*$/gm);

    expect(keys).toEqual([`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,${Buffer.from(KEY_ID, 'hex').toString('base64')}",KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1"`]);
    expect(media.indexOf(keys![0])).toBeLessThan(media.indexOf('#EXT-X-MAP'));
    expect(media).not.toContain('?token=T');
  });

  test('refuses to protect a file the playlist does not list, saying so', async () => {
    fs.copyFileSync(path.join(storagePaths.renditionDir(storage, ASSET, 'v'), 'seg-0.m4s'), path.join(storagePaths.renditionDir(storage, ASSET, 'v'), 'seg-7.m4s'));

    await expect(packager.segment(cenc, 'v', 'seg-7.m4s')).rejects.toThrow(new NotFoundError(`v/seg-7.m4s is not listed in asset ${ASSET}'s playlist (protected copies are made of listed files only)`));
  });
});
