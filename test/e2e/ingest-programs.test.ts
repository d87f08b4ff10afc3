/**
 * Programs of a passthrough channel, end to end on the real controller and local driver: what the
 * encoder sent is stored bit for bit; a running program's window slides while a stopped program
 * keeps all it recorded (the same bytes, hard-linked); a stopped program started again continues
 * its asset after a discontinuity.
 *
 * Archive windows are at least 5 minutes; this suite shortens them with the test-only setting
 * LIVESTACK_TEST_ONLY_ARCHIVE_WINDOW_SECONDS (see lib/dataplane/ingest/main.ts).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Manifest } from '../../lib/model/manifest';
import { storagePaths } from '../../lib/contract/storage-layout';
import { TEST_ONLY_WINDOW_ENV } from '../../lib/dataplane/ingest/main';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { eventually } from '../runtime/support/eventually';
import {
  indexOfRun, ingestManifest, joinRendition, readDescriptor, readHealth, readPlaylist, readPlaylistText, rtmpUrl, startEncoder,
  tearDown, videoPacketHashes, withProgramState,
} from './support/ingest-support';

const run = promisify(execFile);
const WINDOW_SECONDS = 8;
const SHORT = 'studio-short';
const VOD = 'studio-vod';

let manifest: Manifest;
let stack: LocalStack;
let storage: string;
let scratch: string;
let key: string;
let input: string;
let inputHashes: string[];

const uris = (asset: string) => readPlaylist(storage, asset, 'source')?.segments.map((s) => s.uri) ?? [];
const fileOf = (asset: string, uri: string) => path.join(storagePaths.renditionDir(storage, asset, 'source'), uri);

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-programs-e2e-'));
  // What the encoder sends: H.264 (a key frame a second) + AAC, 14 s, prepared once so its packets can be compared.
  input = path.join(scratch, 'input.flv');
  await run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '14', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-ac', '2', '-f', 'flv', input,
  ], { timeout: 60_000 });
  inputHashes = await videoPacketHashes(input);
  manifest = await ingestManifest([{
    name: 'studio',
    encoding: { type: 'passthrough' },
    streamKey: { kind: 'generated', id: 'studio-key' },
    programs: [{ name: 'short', assetName: SHORT, state: 'running' }, { name: 'vod', assetName: VOD, state: 'running' }],
  }]);
  stack = await startLocalStack(manifest, { env: { ...process.env, [TEST_ONLY_WINDOW_ENV]: String(WINDOW_SECONDS) } });
  await stack.waitReady(30_000);
  storage = stack.storageDir(manifest.accounts[0].name);
  // A generated stream key lives in the account storage (0600), where an operator reads it.
  key = fs.readFileSync(storagePaths.secret(storage, 'studio-key'), 'utf8').trim();
}, 90_000);

afterAll(() => tearDown(stack, scratch), 60_000);

describe('programs of a passthrough channel', () => {
  it('share the same bytes, and a program stopped mid-stream closes its asset', async () => {
    // GIVEN two running programs, WHEN the encoder publishes and `vod` is stopped after two segments
    const encoder = startEncoder(rtmpUrl(manifest, 'studio', key), { seconds: 14, file: input });
    await eventually('two segments in both assets', () => (uris(VOD).length >= 2 && uris(SHORT).length >= 2 ? true : undefined), 20_000, 100);
    const shared = uris(VOD)[0];
    expect(fs.statSync(fileOf(VOD, shared)).ino).toBe(fs.statSync(fileOf(SHORT, shared)).ino);
    await stack.apply(withProgramState(manifest, 'studio', 'vod', 'stopped'));

    // THEN vod is closed and stays so while short goes on recording
    await eventually('vod stopped', () => (readDescriptor(storage, VOD)?.state === 'stopped' ? true : undefined), 10_000, 100);
    const closed = readPlaylistText(storage, VOD, 'source');
    expect(closed).toMatch(/#EXT-X-ENDLIST\n$/);
    expect((await encoder.done).code).toBe(0);
    await eventually('the publisher gone', () => (readHealth(storage, 'studio')?.publisherConnected === false ? true : undefined), 10_000, 200);
    expect(readPlaylistText(storage, VOD, 'source')).toBe(closed);
    expect(readDescriptor(storage, VOD)).toMatchObject({ state: 'stopped', stoppedAt: expect.any(String) });
  }, 60_000);

  it('stores the encoder\'s video packets bit for bit (no re-encode)', async () => {
    for (const asset of [VOD, SHORT]) {
      const stored = await videoPacketHashes(joinRendition(storage, asset, 'source', path.join(scratch, `${asset}.mp4`)));
      expect(stored.length).toBeGreaterThanOrEqual(50);
      // The stored packets are a contiguous run of what the encoder sent.
      expect(indexOfRun(inputHashes, stored)).toBeGreaterThanOrEqual(0);
    }
    expect(readDescriptor(storage, SHORT)!.renditions).toEqual([
      expect.objectContaining({ name: 'source', type: 'video', codecs: expect.stringMatching(/^avc1\.42/), width: 320, height: 180, frameRate: 25 }),
      expect.objectContaining({ name: 'audio', type: 'audio', codecs: 'mp4a.40.2', sampleRate: 48000, channels: 2 }),
    ]);
  }, 60_000);

  it('drops from a running program\'s playlist what is older than its window, while the stopped program keeps all it recorded', async () => {
    const short = readPlaylist(storage, SHORT, 'source')!;
    const vod = readPlaylist(storage, VOD, 'source')!;

    // The running program: only its window, the older segments numbered out of it.
    expect(short.segments.reduce((sum, s) => sum + s.durationSeconds, 0)).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(short.segments[0].sequence).toBeGreaterThanOrEqual(4);
    expect(short.endList).toBe(false);
    // The stopped one: everything from its first segment on.
    expect(vod.segments[0].sequence).toBe(0);
    expect(vod.endList).toBe(true);

    // After the grace period, retention removed short's dropped files, but not vod's links to the same bytes.
    const droppedByShort = vod.segments.map((s) => s.uri).filter((u) => !short.segments.some((s) => s.uri === u));
    expect(droppedByShort.length).toBeGreaterThan(0);
    await eventually('short\'s dropped segments removed', () => (droppedByShort.every((u) => !fs.existsSync(fileOf(SHORT, u))) ? true : undefined), 25_000, 250);
    for (const segment of vod.segments) expect(fs.existsSync(fileOf(VOD, segment.uri))).toBe(true);
    for (const segment of short.segments) expect(fs.existsSync(fileOf(SHORT, segment.uri))).toBe(true);
    const decoded = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', joinRendition(storage, VOD, 'source', path.join(scratch, 'vod-after.mp4'))]);
    expect(Number(decoded.stdout.trim())).toBeGreaterThanOrEqual(50);
  }, 60_000);

  it('continues a stopped program\'s asset after a discontinuity when it is started again', async () => {
    const before = readPlaylist(storage, VOD, 'source')!.segments.map((s) => s.uri);
    await stack.apply(manifest);
    await eventually('vod recording again', () => (readDescriptor(storage, VOD)?.state === 'recording' ? true : undefined), 10_000, 100);

    expect((await startEncoder(rtmpUrl(manifest, 'studio', key), { seconds: 3, file: input }).done).code).toBe(0);
    await eventually('new segments in vod', () => (uris(VOD).length > before.length ? true : undefined), 10_000, 100);

    const after = readPlaylist(storage, VOD, 'source')!;
    expect(after.endList).toBe(false);
    expect(after.segments.slice(0, before.length).map((s) => s.uri)).toEqual(before);
    expect(after.segments[before.length].discontinuity).toBe(true);
  }, 40_000);
});
