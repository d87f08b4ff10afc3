/**
 * SRT ingest end to end, on the real controller and local driver: real ffmpeg encoders push MPEG-TS
 * over SRT to the channel's SRT listener (livestack-srt-listener, libsrt), through a relay that loses
 * and delays datagrams where the suite says so; the workload transcodes and records as for RTMP; the
 * origin serves what it stored.
 *
 * This kernel has no netem qdisc, so the lossy path is a UDP relay in the test (support/udp-relay.ts):
 * 2% of datagrams dropped and 50 ms added, each way.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Manifest } from '../../lib/model/manifest';
import { storagePaths } from '../../lib/contract/storage-layout';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { eventually } from '../runtime/support/eventually';
import {
  channelOf, ingestManifest, readHealth, readPlaylist, readPlaylistText, rtmpUrl, runFolders, SMALL_LADDER, srtUrl, startEncoder,
  tearDown, withProgramState,
} from './support/ingest-support';
import { startLossyRelay } from './support/udp-relay';
import { startFlood } from './support/srt-flood';
import { livestack } from '../support/cli';

const run = promisify(execFile);
// Valid as an RTMP stream key and as an SRT passphrase (10-79 characters).
const KEY = `srt-${randomBytes(12).toString('hex')}`;
const WRONG_KEY = `wrong-${randomBytes(12).toString('hex')}`;
const PUSH_SECONDS = 12;
const FRAME_RATE = 25;
/** What the reconnecting encoder of the reconnect case pushes (of the 6-s clip). */
const RECONNECT_SECONDS = 4;

let manifest: Manifest;
/** The manifest as last applied (programs stopped along the way). */
let current: Manifest;
let stack: LocalStack;
let storage: string;
let scratch: string;
/** 6 s of H.264 + AAC in MPEG-TS, pushed stream-copied where a test needs an encoder that starts at once. */
let clip: string;

const ingestOf = (channel: string) => stack.specs.find((s) => s.role === 'ingest' && s.owner.endsWith(`/${channel}`))!.name;
const logsOf = (channel: string) => stack.logs(ingestOf(channel));
const segmentUris = (asset: string, rendition: string) => readPlaylist(storage, asset, rendition)?.segments.map((s) => s.uri) ?? [];
const runOf = (uri: string) => uri.replace(/-seg-\d+\.m4s$/, '');
const originUrl = (locator: string) => {
  const account = manifest.accounts[0];
  return `http://127.0.0.1:${account.endpoints[0].port}/${account.locators.find((l) => l.name === locator)!.id}/index.m3u8`;
};

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-srt-e2e-'));
  clip = path.join(scratch, 'clip.ts');
  await run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=${FRAME_RATE}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(FRAME_RATE), '-c:a', 'aac', '-ac', '2', '-f', 'mpegts', clip,
  ], { timeout: 60_000 });
  const key = { kind: 'variable' as const, id: 'srt-key', name: 'srt_key' };
  const built = await ingestManifest([
    {
      name: 'news', encoding: SMALL_LADDER, streamKey: key, protocols: ['rtmp', 'srt'],
      programs: [{ name: 'live', assetName: 'news-live', state: 'running' }, { name: 'archive', assetName: 'news-archive', state: 'running' }],
    },
    {
      name: 'raw', encoding: { type: 'passthrough' }, streamKey: key, protocols: ['srt'], srt: { minKeyLength: 32 },
      programs: [{ name: 'live', assetName: 'raw-live', state: 'running' }, { name: 'archive', assetName: 'raw-archive', state: 'running' }],
    },
    { name: 'locked', encoding: SMALL_LADDER, streamKey: key, protocols: ['srt'], ingestAllowList: ['192.0.2.0/24'], programs: [] },
  ], { origin: true });
  // ingestManifest publishes the first channel's first program; publish raw's as well.
  const account = built.accounts[0];
  account.locators.push({ name: 'raw-watch', path: `app/${account.name}/raw-watch`, id: randomUUID(), channel: 'raw', program: 'live', endpoint: 'web', deliveryPolicy: 'clear' });
  manifest = built;
  current = built;
  stack = await startLocalStack(manifest, { env: { ...process.env, TF_VAR_srt_key: KEY } });
  await stack.waitReady(30_000);
  storage = stack.storageDir(account.name);
}, 120_000);

afterAll(() => tearDown(stack, scratch), 60_000);

describe('SRT through a lossy path (2% of datagrams lost, 50 ms added, each way)', () => {
  it('records every rendition of the ladder with no segment missing, and every variant decodes through the locator', async () => {
    const relay = await startLossyRelay({ targetPort: channelOf(manifest, 'news').srt!.port, dropRate: 0.02, delayMs: 50, seed: 7 });
    try {
      // WHEN a live encoder pushes 12 s through the relay
      const encoder = startEncoder(srtUrl(manifest, 'news', KEY, { port: relay.port }), { seconds: PUSH_SECONDS });
      // THEN health shows an SRT publisher whose link lost packets (and got them again), 100 ms away
      const health = await eventually('SRT link health with losses', () => {
        const h = readHealth(storage, 'news');
        return h?.publisherProtocol === 'srt' && (h.srt?.packetsLost ?? 0) > 0 ? h : undefined;
      }, 20_000, 200);
      expect(health.srt!.rttMs).toBeGreaterThan(90);
      expect((await encoder.done).code).toBe(0);
      expect(relay.counts().dropped).toBeGreaterThan(10);
    } finally {
      await relay.close();
    }
    await eventually('the publisher gone', () => (readHealth(storage, 'news')?.publisherConnected === false ? true : undefined), 15_000, 200);

    // AND one transcoder run took the whole session, and SRT recovered every loss: nothing was dropped for good
    expect(await logsOf('news')).not.toContain('stopped while the publisher is connected');
    const left = /SRT publisher 127\.0\.0\.1 \(session srt-\d+\) left after .*packets lost (\d+), retransmitted (\d+), dropped (\d+)/.exec(await logsOf('news'));
    expect(left).not.toBeNull();
    const [lost, retransmitted, droppedForGood] = left!.slice(1).map(Number);
    expect(lost).toBeGreaterThan(0);
    expect(retransmitted).toBeGreaterThanOrEqual(lost);
    expect(droppedForGood).toBe(0);

    // AND each rendition holds one run of consecutive 1-s segments covering the push
    for (const rendition of ['180p', '90p', 'audio']) {
      const playlist = readPlaylist(storage, 'news-live', rendition)!;
      const numbers = playlist.segments.map((s) => Number(/-seg-(\d+)\.m4s$/.exec(s.uri)![1]));
      expect(numbers).toEqual(numbers.map((_n, i) => numbers[0] + i));
      expect(new Set(playlist.segments.map((s) => runOf(s.uri))).size).toBe(1);
      expect(playlist.segments.reduce((sum, s) => sum + s.durationSeconds, 0)).toBeGreaterThan(PUSH_SECONDS - 1.5);
    }

    // WHEN the program stops (its asset becomes video on demand), THEN ffmpeg decodes every variant through
    // the locator, from the first segment to the last, without an error
    current = withProgramState(current, 'news', 'live', 'stopped');
    await stack.apply(current);
    await eventually('the asset closed', () => (readPlaylistText(storage, 'news-live', '180p').includes('#EXT-X-ENDLIST') ? true : undefined), 10_000, 100);
    const { stdout, stderr } = await run('ffprobe', [
      '-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,width,nb_read_frames', '-of', 'json', originUrl('watch'),
    ], { timeout: 60_000 });
    expect(stderr).toBe('');
    const streams = (JSON.parse(stdout) as { streams: { codec_type: string; width?: number; nb_read_frames: string }[] }).streams;
    const videos = streams.filter((s) => s.codec_type === 'video');
    expect(videos.map((s) => s.width).sort()).toEqual([160, 320]);
    for (const video of videos) expect(Number(video.nb_read_frames)).toBeGreaterThan((PUSH_SECONDS - 1.5) * FRAME_RATE);
    expect(streams.some((s) => s.codec_type === 'audio' && Number(s.nb_read_frames) > (PUSH_SECONDS - 1.5) * 46)).toBe(true);
  }, 120_000);

  it('passthrough: every frame the encoder sent is played back through the locator (AES-256 on the link, as the channel asks)', async () => {
    const relay = await startLossyRelay({ targetPort: channelOf(manifest, 'raw').srt!.port, dropRate: 0.02, delayMs: 50, seed: 11 });
    try {
      // (lingering on close, so the encoder sends its last frames instead of discarding them)
      expect((await startEncoder(srtUrl(manifest, 'raw', KEY, { port: relay.port, keyLength: 32, lingerSeconds: 2 }), { seconds: 6, file: clip }).done).code).toBe(0);
    } finally {
      await relay.close();
    }
    await eventually('the publisher gone', () => (readHealth(storage, 'raw')?.publisherConnected === false ? true : undefined), 15_000, 200);
    expect(await logsOf('raw')).toMatch(/accepted SRT publisher 127\.0\.0\.1:\d+ \(session srt-\d+, AES-256\)/);
    expect(await logsOf('raw')).not.toContain('stopped while the publisher is connected');

    current = withProgramState(current, 'raw', 'live', 'stopped');
    await stack.apply(current);
    await eventually('the asset closed', () => (readPlaylistText(storage, 'raw-live', 'source').includes('#EXT-X-ENDLIST') ? true : undefined), 10_000, 100);
    const { stdout, stderr } = await run('ffprobe', [
      '-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames', '-of', 'json', originUrl('raw-watch'),
    ], { timeout: 60_000 });
    expect(stderr).toBe('');
    // Stream copy: the 6-s clip's 150 frames, every one of them.
    const streams = (JSON.parse(stdout) as { streams: { codec_type: string; nb_read_frames: string }[] }).streams;
    expect(streams.filter((s) => s.codec_type === 'video').map((s) => Number(s.nb_read_frames))).toEqual([6 * FRAME_RATE]);
  }, 90_000);
});

describe('who may publish over SRT', () => {
  const refusedIn = async (channel: string, text: string) => eventually(`"${text}" in the log`, async () => ((await logsOf(channel)).includes(text) ? true : undefined), 10_000, 100);

  it.each([
    ['a wrong passphrase', WRONG_KEY, undefined, 'refused SRT caller 127.0.0.1: wrong or missing passphrase'],
    ['no passphrase', undefined, undefined, 'refused SRT caller 127.0.0.1: wrong or missing passphrase'],
    ['a stream id naming another channel', KEY, 'publish:raw', 'stream id names another path than this channel'],
    ['an access-control stream id naming another resource', KEY, '#!::r=raw,m=publish', 'stream id names another resource than this channel'],
    ['a stream id asking to play (m=request)', KEY, '#!::r=news,m=request', 'stream id asks for a mode other than m=publish'],
    ['credentials in the stream id', KEY, 'publish:news:user:pass', 'user and password in a publish: stream id are not accepted'],
    ['a 300-byte stream id', KEY, `publish:${'n'.repeat(292)}`, 'stream id longer than 256 bytes'],
    ['no stream id', KEY, '', 'no stream id'],
  ])('refuses %s and records nothing', async (_what, passphrase, streamId, refusal) => {
    const runsBefore = runFolders(storage, 'news');

    const { code } = await startEncoder(srtUrl(manifest, 'news', passphrase, { streamId }), { seconds: 2, file: clip }).done;

    expect(code).not.toBe(0);
    await refusedIn('news', refusal);
    expect(runFolders(storage, 'news').filter((r) => !runsBefore.includes(r))).toEqual([]);
  }, 30_000);

  it.each([
    ['the access-control form with m=publish', '#!::r=news,m=publish'],
    ['the access-control form with a user name and no mode', '#!::u=camera-1,r=news'],
  ])('takes %s', async (_what, streamId) => {
    const before = segmentUris('news-archive', '180p').length;

    expect((await startEncoder(srtUrl(manifest, 'news', KEY, { streamId }), { seconds: 3, file: clip }).done).code).toBe(0);

    await eventually('new segments', () => (segmentUris('news-archive', '180p').length > before ? true : undefined), 15_000, 100);
    await eventually('the publisher gone', () => (readHealth(storage, 'news')?.publisherConnected === false ? true : undefined), 15_000, 200);
  }, 40_000);

  it('refuses an encoder whose AES key is shorter than the channel asks', async () => {
    const { code } = await startEncoder(srtUrl(manifest, 'raw', KEY), { seconds: 2, file: clip }).done;

    expect(code).not.toBe(0);
    await refusedIn('raw', 'refused SRT caller 127.0.0.1: the encoder encrypts with AES-128; the channel asks for AES-256 at least (set pbkeylen=32 in the encoder)');
  }, 30_000);

  it('refuses an address outside the channel\'s ingest allow list, even with the right key', async () => {
    const { code } = await startEncoder(srtUrl(manifest, 'locked', KEY), { seconds: 2, file: clip }).done;

    expect(code).not.toBe(0);
    await refusedIn('locked', 'refused SRT caller 127.0.0.1: address not in the channel\'s ingest allow list');
    expect(runFolders(storage, 'locked')).toEqual([]);
  }, 30_000);

  it('refuses a second publisher, over SRT or RTMP, while the first keeps going; and SRT while RTMP publishes', async () => {
    const first = startEncoder(srtUrl(manifest, 'news', KEY), { seconds: 8 });
    await eventually('the first publisher recording', () => (readHealth(storage, 'news')?.publisherProtocol === 'srt' ? true : undefined), 15_000, 100);

    const overSrt = await startEncoder(srtUrl(manifest, 'news', KEY), { seconds: 2, file: clip }).done;
    const overRtmp = await startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 2, file: clip }).done;

    expect(overSrt.code).not.toBe(0);
    expect(overRtmp.code).not.toBe(0);
    const log = await logsOf('news');
    expect(log).toContain('refused SRT caller 127.0.0.1: the channel already has a publisher');
    expect(log).toMatch(/refused publisher 127\.0\.0\.1 \(client \d+\): the channel already has a publisher \(127\.0\.0\.1, srt client srt-\d+\)/);
    expect((await first.done).code).toBe(0);
    await eventually('the publisher gone', () => (readHealth(storage, 'news')?.publisherConnected === false ? true : undefined), 15_000, 200);

    // An RTMP publisher holds the channel: SRT callers are refused until it leaves.
    const rtmp = startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 6, file: clip });
    await eventually('the RTMP publisher', () => (readHealth(storage, 'news')?.publisherProtocol === 'rtmp' ? true : undefined), 15_000, 100);
    const refusalsBefore = (log.match(/refused SRT caller 127\.0\.0\.1: the channel already has a publisher/g) ?? []).length;
    expect((await startEncoder(srtUrl(manifest, 'news', KEY), { seconds: 2, file: clip }).done).code).not.toBe(0);
    await eventually('a second SRT refusal', async () => (((await logsOf('news')).match(/refused SRT caller 127\.0\.0\.1: the channel already has a publisher/g) ?? []).length > refusalsBefore ? true : undefined), 10_000, 100);
    expect((await rtmp.done).code).toBe(0);
  }, 60_000);
});

describe('floods', () => {
  it('300 idle UDP peers and 300 half-open handshakes do not keep the right encoder out: it gets in within 2 s', async () => {
    await eventually('no publisher', () => (readHealth(storage, 'news')?.publisherConnected === false ? true : undefined), 15_000, 200);
    const flood = await startFlood({ port: channelOf(manifest, 'news').srt!.port, idlePeers: 300, halfOpenPeers: 300 });
    try {
      // The handshakes are really half-open: the listener answered them with cookies.
      await eventually('induction answers', () => (flood.inductionAnswers() >= 300 ? true : undefined), 10_000, 100);
      const acceptedBefore = ((await logsOf('news')).match(/accepted SRT publisher/g) ?? []).length;

      const started = Date.now();
      const encoder = startEncoder(srtUrl(manifest, 'news', KEY), { seconds: 3, file: clip });
      await eventually('the encoder accepted', async () => ((((await logsOf('news')).match(/accepted SRT publisher/g) ?? []).length > acceptedBefore) ? true : undefined), 10_000, 25);
      const tookMs = Date.now() - started;

      expect(tookMs).toBeLessThan(2_000);
      expect((await encoder.done).code).toBe(0);
      expect(flood.sent()).toBeGreaterThan(600);
    } finally {
      await flood.stop();
    }
  }, 60_000);
});

describe('reconnects', () => {
  it('an encoder that drops and reconnects continues the channel after a discontinuity; nothing recorded before is lost', async () => {
    await eventually('no publisher', () => (readHealth(storage, 'raw')?.publisherConnected === false ? true : undefined), 15_000, 200);
    const before = segmentUris('raw-archive', 'source');
    const runsBefore = new Set(before.map(runOf));

    // WHEN an encoder publishes, is killed (no SRT shutdown reaches the listener), and publishes again
    const dropped = startEncoder(srtUrl(manifest, 'raw', KEY, { keyLength: 32 }), { seconds: 30 });
    // (3 s of it recorded, so the session's run has more than one segment to lose)
    const recordedSeconds = () => (readPlaylist(storage, 'raw-archive', 'source')?.segments ?? [])
      .filter((s) => !runsBefore.has(runOf(s.uri))).reduce((sum, s) => sum + s.durationSeconds, 0);
    await eventually('the first session recorded', () => (recordedSeconds() >= 3 ? true : undefined), 20_000, 100);
    const atDrop = segmentUris('raw-archive', 'source');
    dropped.process.kill('SIGKILL');
    await dropped.done;
    // The listener notices the silence after SRT's peer idle timeout (5 s); an encoder retries meanwhile, as OBS does.
    const reconnected = await eventually('the reconnect accepted', async () => {
      // (lingering on close, as in the passthrough test: the encoder sends its last frames instead of discarding them)
      const encoder = startEncoder(srtUrl(manifest, 'raw', KEY, { keyLength: 32, lingerSeconds: 2 }), { seconds: RECONNECT_SECONDS, file: clip });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      if (encoder.process.exitCode === null) return encoder;
      return undefined;
    }, 15_000, 500);
    expect((await reconnected.done).code).toBe(0);
    // A session's run writes its last segment once the listener has closed the session and ffmpeg read
    // the end of its input: read the playlist when both sessions' runs have ended, not when the second
    // run's first segment shows up (then a run still writing would look short).
    const newRuns = await eventually('both sessions recorded and their runs ended', async () => {
      const runs = [...new Set(segmentUris('raw-archive', 'source').map(runOf))].filter((r) => !runsBefore.has(r));
      const log = await logsOf('raw');
      return runs.length >= 2 && runs.every((r) => log.includes(`transcoder run ${r} ended`)) ? runs : undefined;
    }, 15_000, 100);

    const recordedBy = (runId: string, playlist = readPlaylist(storage, 'raw-archive', 'source')!) => playlist.segments
      .filter((s) => runOf(s.uri) === runId).reduce((sum, s) => sum + s.durationSeconds, 0);
    // (the ingest logs a run's end just before it hands on the run's last segments: a moment to settle, then the exact check below)
    await eventually('the reconnect\'s clip recorded whole', () => (recordedBy(newRuns[1]) >= RECONNECT_SECONDS - 1 / FRAME_RATE ? true : undefined), 5_000, 100)
      .catch(() => undefined);

    // THEN the playlist keeps everything it had when the encoder dropped, and each new session follows a discontinuity
    const after = readPlaylist(storage, 'raw-archive', 'source')!;
    expect(after.segments.slice(0, atDrop.length).map((s) => s.uri)).toEqual(atDrop);
    for (const runId of newRuns) {
      // (the first session's run opens the playlist when this case runs alone: nothing before it to be discontinuous with)
      const first = after.segments.findIndex((s) => runOf(s.uri) === runId);
      expect(after.segments[first].discontinuity).toBe(first > 0);
      // One run of its own per session (no transcoder restart made these runs): the dropped one's, and the reconnect's
      expect(recordedBy(runId, after)).toBeGreaterThan(2);
    }
    expect(newRuns).toHaveLength(2);
    expect(after.segments.findIndex((s) => runOf(s.uri) === newRuns[1])).toBeGreaterThan(0);
    // The reconnect's session recorded whole: every second of its clip, within a frame
    expect(recordedBy(newRuns[1], after)).toBeCloseTo(RECONNECT_SECONDS, 1);
    expect(await logsOf('raw')).not.toContain('stopped while the publisher is connected');
    for (const rendition of ['source', 'audio']) {
      for (const segment of readPlaylist(storage, 'raw-archive', rendition)!.segments) {
        expect(fs.existsSync(path.join(storagePaths.renditionDir(storage, 'raw-archive', rendition), segment.uri))).toBe(true);
      }
    }
    expect(await logsOf('raw')).toMatch(/SRT publisher 127\.0\.0\.1 \(session srt-\d+\) left after \d+ s: the connection broke/);
  }, 90_000);
});

describe('what operators are told', () => {
  it('livestack status prints each channel\'s SRT URL as OBS and ffmpeg take it, and where the key is, never the key', async () => {
    const { code, stdout } = await livestack(['status', '--state-dir', stack.stateDir]);

    expect(code).toBe(0);
    const srt = channelOf(manifest, 'news').srt!.port;
    expect(stdout).toContain('Ingest (RTMP or SRT):');
    expect(stdout).toContain(`SRT URL: srt://127.0.0.1:${srt}?streamid=publish:news&passphrase=<stream key>`);
    expect(stdout).toContain(`ingest URL: rtmp://127.0.0.1:${channelOf(manifest, 'news').port}/live`);
    expect(stdout).toContain('stream key: the value of TF_VAR_srt_key');
    expect(stdout).not.toContain(KEY);
  }, 30_000);
});

describe('secrets', () => {
  it('never writes the key to a log, the health file or the listener\'s command line', async () => {
    const logs = (await Promise.all(stack.specs.map((s) => stack.driver.logs(s.name, 100_000)))).join('\n');
    expect(logs).toContain('accepted SRT publisher');
    expect(logs).not.toContain(KEY);
    expect(logs).not.toContain(WRONG_KEY);
    expect(logs).not.toContain('n'.repeat(64));
    expect(fs.readFileSync(storagePaths.channelHealth(storage, 'news'), 'utf8')).not.toContain(KEY);
    const { stdout } = await run('ps', ['-eo', 'args']);
    const listeners = stdout.split('\n').filter((line) => line.includes('livestack-srt-listener'));
    expect(listeners.length).toBeGreaterThanOrEqual(3);
    for (const line of listeners) expect(line).not.toContain(KEY);
  }, 30_000);
});
