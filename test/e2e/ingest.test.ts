/**
 * The ingest workload end to end, on the real controller and local driver: real ffmpeg encoders push
 * RTMP to real nginx-rtmp; the workload checks them, transcodes a small ladder with real ffmpeg and
 * records into a program's asset; ffprobe and the origin read what it stored.
 */
import { servedLocatorId } from '../support/locator-ids';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Manifest } from '../../lib/model/manifest';
import { storagePaths } from '../../lib/contract/storage-layout';
import { readStatuses } from '../../lib/runtime/status';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { eventually } from '../runtime/support/eventually';
import {
  channelOf, ingestManifest, joinRendition, keyFrameTimes, probeDecoded, readDescriptor, readHealth, readPlaylist,
  readPlaylistText, rtmpUrl, runFolders, SMALL_LADDER, startEncoder, tearDown, transcoderPid,
} from './support/ingest-support';

const run = promisify(execFile);
const KEY = `key-${randomBytes(12).toString('hex')}`;
const WRONG_KEY = `wrong-${randomBytes(12).toString('hex')}`;
const ASSET = 'news-live';
const VIDEO = ['180p', '90p'];
const RENDITIONS = [...VIDEO, 'audio'];

let manifest: Manifest;
let stack: LocalStack;
let storage: string;
let scratch: string;

const ingestOf = (channel: string) => stack.specs.find((s) => s.role === 'ingest' && s.owner.endsWith(`/${channel}`))!.name;
const segmentUris = (rendition = '180p') => readPlaylist(storage, ASSET, rendition)?.segments.map((s) => s.uri) ?? [];
/** Every process's argv, as /proc/PID/cmdline shows it to any local user. */
const commandLines = () => fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map((pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
});
const allLogs = async () => (await Promise.all(stack.specs.map((s) => stack.driver.logs(s.name, 100_000)))).join('\n');

beforeAll(async () => {
  manifest = await ingestManifest([
    { name: 'news', encoding: SMALL_LADDER, streamKey: { kind: 'variable', id: 'news-key', name: 'news_key' }, programs: [{ name: 'live', assetName: ASSET, state: 'running' }] },
    { name: 'locked', encoding: SMALL_LADDER, streamKey: { kind: 'variable', id: 'locked-key', name: 'news_key' }, ingestAllowList: ['192.0.2.0/24'], programs: [] },
  ], { origin: true });
  stack = await startLocalStack(manifest, { env: { ...process.env, TF_VAR_news_key: KEY } });
  await stack.waitReady(30_000);
  storage = stack.storageDir(manifest.accounts[0].name);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-e2e-'));
}, 90_000);

afterAll(() => tearDown(stack, scratch), 60_000);

describe('ingest of a standard ladder', () => {
  it('records a 10-s encoder feed into every rendition within 10 s of the first segment, reporting health meanwhile', async () => {
    // GIVEN a running program, WHEN an encoder publishes 10 s with the right key
    const encoder = startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 10 });

    // THEN every rendition has segments within 10 s of the first one
    await eventually('a first segment', () => (RENDITIONS.some((r) => (readPlaylist(storage, ASSET, r)?.segments.length ?? 0) > 0) ? true : undefined), 20_000, 100);
    const first = Date.now();
    await eventually('segments in every rendition', () => (RENDITIONS.every((r) => (readPlaylist(storage, ASSET, r)?.segments.length ?? 0) > 0) ? true : undefined), 10_000, 100);
    expect(Date.now() - first).toBeLessThanOrEqual(10_000);

    // AND health says who publishes, at what bitrate and frame rate, in the file and in /metrics
    const health = await eventually('health with input bitrate and frame rate', () => {
      const h = readHealth(storage, 'news');
      return h?.publisherConnected && h.inputBitrateKbps && h.inputFrameRate ? h : undefined;
    }, 10_000, 200);
    expect(health).toMatchObject({ channel: 'news', publisher: '127.0.0.1', transcoderRestarts: 0 });
    expect(health.inputBitrateKbps).toBeGreaterThan(20);
    expect(health.inputFrameRate).toBeGreaterThan(15);
    expect(health.inputFrameRate).toBeLessThan(35);
    expect(health.lastSegmentAgeSeconds).toBeLessThan(5);
    // AND the transcoder's command line, which every local user can read, names no stream URL and no play token
    const transcoders = commandLines().filter((args) => path.basename(args[0] ?? '') === 'ffmpeg' && args.some((a) => a.startsWith(storage)));
    expect(transcoders.length).toBeGreaterThan(0);
    for (const args of transcoders) expect(args.join(' ')).not.toMatch(/token|rtmp:/);
    const metrics = await (await fetch(stack.specs.find((s) => s.name === ingestOf('news'))!.healthCheck.httpUrl.replace('/healthz', '/metrics'))).text();
    expect(metrics).toMatch(/^livestack_ingest_publisher_connected\{[^}]*\} 1$/m);

    const { code } = await encoder.done;
    expect(code).toBe(0);
    await eventually('the publisher gone from health', () => (readHealth(storage, 'news')?.publisherConnected === false ? true : undefined), 10_000, 200);
    const recorded = readPlaylist(storage, ASSET, '180p')!;
    expect(recorded.segments.reduce((sum, s) => sum + s.durationSeconds, 0)).toBeGreaterThan(7);
  }, 60_000);

  it('stores renditions that ffprobe decodes: video in each video rendition, sound in the audio one', async () => {
    // Read as a player reads them: each rendition's init section and segments, in playlist order.
    const probe = (r: string) => probeDecoded(joinRendition(storage, ASSET, r, path.join(scratch, `${r}.mp4`)));

    expect(await probe('180p')).toMatchObject({ codecType: 'video', width: 320, height: 180 });
    expect(await probe('90p')).toMatchObject({ codecType: 'video', width: 160, height: 90 });
    for (const r of VIDEO) expect((await probe(r)).frames).toBeGreaterThan(175);
    const audio = await probe('audio');
    expect(audio.codecType).toBe('audio');
    // 48 kHz AAC: 1024 samples a frame, about 47 frames a second.
    expect(audio.frames).toBeGreaterThan(7 * 47);
  }, 60_000);

  it('aligns key frames across renditions (read from the stored segments), one per key frame interval', async () => {
    const [high, low] = await Promise.all(VIDEO.map((r) => keyFrameTimes(joinRendition(storage, ASSET, r, path.join(scratch, `${r}.mp4`)))));

    expect(high.length).toBeGreaterThanOrEqual(7);
    expect(low).toEqual(high);
    const spacing = high.slice(1).map((t, i) => Number((t - high[i]).toFixed(2)));
    expect(spacing.every((s) => Math.abs(s - 1) < 0.05)).toBe(true);
    // Every stored segment starts with a key frame: players can switch at any segment boundary.
    for (const r of VIDEO) {
      const dir = storagePaths.renditionDir(storage, ASSET, r);
      const playlist = readPlaylist(storage, ASSET, r)!;
      const sample = path.join(scratch, `${r}-first.mp4`);
      fs.writeFileSync(sample, Buffer.concat([playlist.segments[1].mapUri!, playlist.segments[1].uri].map((f) => fs.readFileSync(path.join(dir, f)))));
      const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', '-read_intervals', '%+#1', sample]);
      expect(stdout.trim()).toMatch(/^K/);
    }
  }, 60_000);

  it('describes each rendition for the origin: codecs, sizes, frame rate, measured bandwidths', () => {
    const descriptor = readDescriptor(storage, ASSET)!;

    expect(descriptor).toMatchObject({ asset: ASSET, channel: 'news', program: 'live', state: 'recording', container: 'fmp4', segmentDurationSeconds: 1 });
    expect(descriptor.renditions.map((r) => [r.name, r.type])).toEqual([['180p', 'video'], ['90p', 'video'], ['audio', 'audio']]);
    const [high, low, audio] = descriptor.renditions;
    expect(high).toMatchObject({ codecs: expect.stringMatching(/^avc1\.4d/), width: 320, height: 180, frameRate: 25 });
    expect(low).toMatchObject({ codecs: expect.stringMatching(/^avc1\.42/), width: 160, height: 90 });
    expect(audio).toMatchObject({ codecs: 'mp4a.40.2', sampleRate: 48000, channels: 2 });
    for (const r of descriptor.renditions) expect(r.bandwidth).toBeGreaterThanOrEqual(r.averageBandwidth!);
    expect(high.averageBandwidth!).toBeGreaterThan(low.averageBandwidth!);
    expect(low.averageBandwidth!).toBeGreaterThan(audio.averageBandwidth!);
  });

  it('is served by the origin through the program\'s locator, and ffmpeg decodes picture and sound from it', async () => {
    const account = manifest.accounts[0];
    const url = `http://127.0.0.1:${account.endpoints[0].port}/${servedLocatorId(storage, account, account.locators[0])}/index.m3u8`;

    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', url], { timeout: 60_000 });
    await run('ffmpeg', ['-v', 'error', '-i', url, '-map', '0:v:0', '-map', '0:a:0', '-t', '2', '-f', 'null', '-'], { timeout: 60_000 });

    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(expect.arrayContaining(['audio', 'video']));
  }, 90_000);
});

describe('who may publish', () => {
  it('refuses a wrong stream key and writes nothing', async () => {
    const runsBefore = runFolders(storage, 'news');
    const playlistBefore = readPlaylistText(storage, ASSET, '180p');

    const { code } = await startEncoder(rtmpUrl(manifest, 'news', WRONG_KEY), { seconds: 3, size: '160x90' }).done;

    expect(code).not.toBe(0);
    await eventually('the refusal in the log', async () => ((await stack.logs(ingestOf('news'))).includes('wrong stream key') ? true : undefined), 10_000, 200);
    // No transcoder run began (an earlier run's folder may have been tidied away meanwhile), and the asset is as it was.
    expect(runFolders(storage, 'news').filter((r) => !runsBefore.includes(r))).toEqual([]);
    expect(readPlaylistText(storage, ASSET, '180p')).toBe(playlistBefore);
  }, 30_000);

  it('refuses a publisher outside the channel\'s ingest allow list, even with the right key', async () => {
    const { code } = await startEncoder(rtmpUrl(manifest, 'locked', KEY), { seconds: 3, size: '160x90' }).done;

    expect(code).not.toBe(0);
    await eventually('the refusal in the log', async () => ((await stack.logs(ingestOf('locked'))).includes('not in the channel\'s ingest allow list') ? true : undefined), 10_000, 200);
    expect(runFolders(storage, 'locked')).toEqual([]);
    expect(readHealth(storage, 'locked')?.publisherConnected).toBe(false);
  }, 30_000);

  it('refuses a 10,000-byte stream name, and nginx keeps running', async () => {
    const { code } = await startEncoder(rtmpUrl(manifest, 'news', 'x'.repeat(10_000)), { seconds: 3, size: '160x90' }).done;

    expect(code).not.toBe(0);
    await eventually('the refusal in the log', async () => ((await stack.logs(ingestOf('news'))).includes('stream name of 255 bytes or more') ? true : undefined), 10_000, 200);
    // nginx still answers, and a publisher with the right key is still accepted (next tests).
    const health = await fetch(stack.specs.find((s) => s.name === ingestOf('news'))!.healthCheck.httpUrl);
    expect(health.status).toBe(200);
    expect(stack.driver.processes(ingestOf('news')).workload).toBeDefined();
  }, 30_000);

  it('refuses a second concurrent publisher while the first keeps going', async () => {
    const first = startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 9 });
    const before = segmentUris().length;
    await eventually('the first publisher recording', () => (segmentUris().length >= before + 2 ? true : undefined), 20_000, 100);

    const second = await startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 4, size: '160x90' }).done;

    expect(second.code).not.toBe(0);
    expect(await stack.logs(ingestOf('news'))).toMatch(/refused publisher 127\.0\.0\.1 \(client \d+\): the channel already has a publisher/);
    const atRefusal = segmentUris().length;
    await eventually('more segments from the first publisher', () => (segmentUris().length >= atRefusal + 2 ? true : undefined), 10_000, 100);
    expect((await first.done).code).toBe(0);
  }, 40_000);
});

describe('reconnects and a failing transcoder', () => {
  it('continues the program\'s asset after a discontinuity when the encoder drops and reconnects; nothing earlier is missing', async () => {
    await eventually('the previous publisher gone', () => (readHealth(storage, 'news')?.publisherConnected === false ? true : undefined), 10_000, 200);
    const before = segmentUris();
    const runsBefore = new Set(before.map(runOf));

    // WHEN an encoder publishes, drops, and publishes again
    expect((await startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 4 }).done).code).toBe(0);
    await eventually('the first session recorded', () => (segmentUris().some((u) => !runsBefore.has(runOf(u))) ? true : undefined), 10_000, 100);
    expect((await startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 4 }).done).code).toBe(0);
    const newRuns = await eventually('the second session recorded', () => {
      const runs = [...new Set(segmentUris().map(runOf))].filter((r) => !runsBefore.has(r));
      return runs.length >= 2 ? runs : undefined;
    }, 15_000, 100);

    // THEN the playlist starts with everything it had, and each new session follows a discontinuity
    const after = readPlaylist(storage, ASSET, '180p')!;
    expect(after.segments.slice(0, before.length).map((s) => s.uri)).toEqual(before);
    for (const runId of newRuns) {
      const firstOfRun = after.segments.find((s) => runOf(s.uri) === runId)!;
      expect(firstOfRun.discontinuity).toBe(true);
      expect(firstOfRun.mapUri).toBe(`${runId}-init.mp4`);
    }
    expect(readPlaylistText(storage, ASSET, '180p')).not.toContain('#EXT-X-ENDLIST');
    for (const rendition of RENDITIONS) {
      for (const segment of readPlaylist(storage, ASSET, rendition)!.segments) {
        expect(fs.existsSync(path.join(storagePaths.renditionDir(storage, ASSET, rendition), segment.uri))).toBe(true);
      }
    }
  }, 60_000);

  it('starts the transcoder again when it dies while the publisher stays, and counts it in health', async () => {
    const encoder = startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 12 });
    const runsBefore = new Set(segmentUris().map(runOf));
    const killedRun = await eventually('a transcoder run recording', () => segmentUris().map(runOf).find((r) => !runsBefore.has(r)), 20_000, 100);
    const pid = await transcoderPid(path.join(storagePaths.channelDir(storage, 'news'), 'runs', killedRun));
    expect(pid).toBeDefined();

    // WHEN the transcoder is killed while the encoder keeps publishing
    process.kill(pid!, 'SIGKILL');

    // THEN a new run records after a discontinuity, and health counts the restart
    const next = await eventually('a new transcoder run', () => segmentUris().map(runOf).find((r) => !runsBefore.has(r) && r !== killedRun), 20_000, 100);
    const segments = readPlaylist(storage, ASSET, '180p')!.segments;
    expect(segments.find((s) => runOf(s.uri) === next)!.discontinuity).toBe(true);
    await eventually('the restart in health', () => ((readHealth(storage, 'news')?.transcoderRestarts ?? 0) >= 1 ? true : undefined), 10_000, 200);
    // ... which the runtime's status (what `livestack status` shows) carries too.
    await eventually('the restart in the runtime status', () => {
      const workload = readStatuses(stack.stateDir).get(manifest.accounts[0].name)?.workloads.find((w) => w.name === ingestOf('news'));
      return (workload?.ingestHealth?.transcoderRestarts ?? 0) >= 1 ? true : undefined;
    }, 10_000, 200);
    expect(encoder.process.exitCode).toBeNull();
    expect((await encoder.done).code).toBe(0);
  }, 60_000);
});

describe('secrets', () => {
  it('never writes a stream key, right or wrong, to any workload log', async () => {
    const logs = await allLogs();

    expect(logs).toContain('accepted publisher');
    expect(logs).not.toContain(KEY);
    expect(logs).not.toContain(WRONG_KEY);
    expect(logs).not.toContain('x'.repeat(64));
    expect(fs.readFileSync(storagePaths.channelHealth(storage, 'news'), 'utf8')).not.toContain(KEY);
    expect(JSON.stringify(channelOf(manifest, 'news'))).not.toContain(KEY);
  }, 30_000);
});

/** Run id of a stored segment's file name (`<run>-seg-<n>.m4s`). */
function runOf(uri: string): string {
  return uri.replace(/-seg-\d+\.m4s$/, '');
}
