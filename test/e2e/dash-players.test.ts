/**
 * Live DASH in the players viewers use: dash.js and Shaka Player (from npm, served from 127.0.0.1 to
 * headless Chromium) play what the origin packages from a channel that real ffmpeg pushes to over
 * RTMP and the ingest transcodes into a small ladder (4-s segments, the product's default). hls.js
 * plays the same channel's HLS alongside, as the reference for latency.
 *
 * Each player: plays live for 40 s with every video representation on screen in turn, without a stall
 * longer than a segment; resumes within two target durations after the encoder drops and comes back,
 * no further behind live than before; seeks back inside the archive window; plays a stopped program
 * as video on demand and seeks in it. The measured latencies go to test-artifacts/dash-latency.json.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Manifest } from '../../lib/model/manifest';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { Browser, launchChromium } from './support/browser';
import { Encoder, ingestManifest, pushUntilRecording, readDescriptor, readPlaylist, rtmpUrl, SMALL_LADDER, startEncoder, tearDown, withProgramState } from './support/ingest-support';
import { describe as describeState, longestStallMs, openPlayer, Player, PlayerKind, PLAYER_NAMES, PlayerPage, PlayerState, startPlayerPage } from './support/player-page';

const SEGMENT = 4;
/** The live MPD's minimumUpdatePeriod: half a segment (lib/dataplane/origin/dash-render.ts). */
const MPD_REFRESH_SECONDS = SEGMENT / 2;
const KEY = `key-${randomBytes(12).toString('hex')}`;
const LIVE_ASSET = 'news-live';
const VOD_ASSET = 'news-vod';
const VOD_LOCATOR = randomUUID();
const VIDEO = ['180p', '90p'];
const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const DASH_PLAYERS: PlayerKind[] = ['dashjs', 'shaka'];
/**
 * dash.js, set as the README recommends for livestack channels: with its defaults it preloads the
 * next Period into the same buffers and then waits out an encoder's absence in real time from the
 * moment it notices the return, ending up that much further behind live.
 */
const DASHJS_CONFIG = { streaming: { buffer: { reuseExistingSourceBuffers: false } } };
const configOf = (kind: PlayerKind) => (kind === 'dashjs' ? { config: DASHJS_CONFIG } : {});

let manifest: Manifest;
let stack: LocalStack;
let storage: string;
let browser: Browser;
let page: PlayerPage;
let encoder: Encoder | undefined;
const latencies: Record<string, unknown> = {};

const account = () => manifest.accounts[0];
const base = (locator = account().locators[0].id) => `http://127.0.0.1:${account().endpoints[0].port}/${locator}`;
const source = (kind: PlayerKind, locator?: string) => `${base(locator)}/index.${kind === 'hlsjs' ? 'm3u8' : 'mpd'}`;
const segmentsOf = (asset: string, rendition = VIDEO[0]) => readPlaylist(storage, asset, rendition)?.segments ?? [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function push(): Encoder {
  encoder = startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 1800 });
  return encoder;
}

async function dropEncoder(): Promise<void> {
  encoder?.stop();
  await encoder?.done;
  encoder = undefined;
}

/** Waits until the player has played `seconds` of media since the call (time advancing, not seeking). */
async function playFor(player: Player, seconds: number, timeoutMs: number): Promise<PlayerState> {
  const from = (await player.state()).playedSeconds;
  return player.waitFor((s) => s.playedSeconds >= from + seconds, `${seconds} s of playback`, timeoutMs);
}

/** Median of the latencies sampled once a second for `seconds`. */
async function medianLatency(player: Player, seconds: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < seconds; i++) {
    const state = await player.state();
    if (state.latency !== undefined) samples.push(state.latency);
    await sleep(1000);
  }
  if (samples.length === 0) throw new Error(`${PLAYER_NAMES[player.kind]} reported no latency: ${describeState(await player.state())}`);
  samples.sort((a, b) => a - b);
  return Math.round(samples[Math.floor(samples.length / 2)] * 100) / 100;
}

beforeAll(async () => {
  page = await startPlayerPage();
  manifest = await ingestManifest([{
    name: 'news', encoding: SMALL_LADDER, streamKey: { kind: 'variable', id: 'news-key', name: 'news_key' },
    programs: [{ name: 'live', assetName: LIVE_ASSET, state: 'running' }, { name: 'vod', assetName: VOD_ASSET, state: 'running' }],
  }], { origin: true, protocols: ['hls', 'dash'], segmentDurationSeconds: SEGMENT, keyFrameIntervalSeconds: SEGMENT / 2, archiveWindowSeconds: 300 });
  const first = account().locators[0];
  account().locators.push({ ...first, name: 'vod', path: first.path.replace(/watch$/, 'vod'), id: VOD_LOCATOR, program: 'vod' });
  account().endpoints[0].corsAllowedOrigins = [page.origin];
  stack = await startLocalStack(manifest, { env: { ...process.env, TF_VAR_news_key: KEY } });
  await stack.waitReady(30_000);
  storage = stack.storageDir(account().name);
  browser = await launchChromium();
  await pushUntilRecording(stack, push, { storage, asset: LIVE_ASSET, rendition: VIDEO[0] }, 60_000);
}, 120_000);

afterAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'dash-latency.json'), `${JSON.stringify(latencies, null, 2)}\n`);
  await browser?.close();
  await tearDown(stack, undefined);
  await page?.close();
}, 60_000);

describe.each(DASH_PLAYERS)('%s', (kind) => {
  test('plays live DASH for 40 s, every video representation on screen in turn, no stall longer than a segment', async () => {
    const player = await openPlayer(browser, page, kind, source(kind), configOf(kind));
    try {
      // GIVEN the player started on the live MPD
      const started = await player.waitFor((s) => s.playedSeconds > 1 && s.live === true, 'live playback', 30_000);
      const tracks = started.videoTracks;
      expect(tracks.map((t) => t.height).sort((a, b) => a - b)).toEqual([90, 180]);

      // WHEN it plays for 40 s: adaptive, then each representation pinned for a while
      const plan: (number | 'auto')[] = ['auto', ...tracks.map((_t, i) => i), 'auto'];
      const from = started.currentTime;
      const since = Date.now();
      for (const choice of plan) {
        await player.selectVideo(choice);
        const state = await playFor(player, 10, 25_000);
        if (choice !== 'auto') expect(state.videoHeight).toBe(tracks[choice].height);
      }
      const state = await player.state();

      // THEN the current time advanced by the wall time it played, with no stall longer than a segment
      expect(state.currentTime - from).toBeGreaterThanOrEqual(40);
      expect(state.errors).toEqual([]);
      expect(longestStallMs(state, since)).toBeLessThanOrEqual(SEGMENT * 1000);
      // AND the timeline lines up with the media: no sliver of a hole between segments (an S@t that
      // ignored the first frame's composition offset left 80-ms holes at every segment boundary)
      const holes = state.buffered.slice(1).map(([start], i) => start - state.buffered[i][1]);
      expect(holes.filter((hole) => hole < 0.5)).toEqual([]);
      // AND every representation's segments came from the origin (video renditions and the audio)
      for (const rendition of [...VIDEO, 'audio']) {
        expect(state.fetched.filter((url) => url.includes(`/${rendition}/`) && /\/\d+\.m4s$/.test(url)).length).toBeGreaterThan(0);
      }
    } finally {
      await player.close();
    }
  }, 150_000);
});

test('reports the live latency of dash.js, Shaka and hls.js on the same channel: DASH no worse than hls.js by more than a segment', async () => {
  const players = await Promise.all((['dashjs', 'shaka', 'hlsjs'] as PlayerKind[]).map((kind) => openPlayer(browser, page, kind, source(kind), configOf(kind))));
  try {
    await Promise.all(players.map((p) => playFor(p, 8, 40_000)));
    const measured = await Promise.all(players.map((p) => medianLatency(p, 15)));
    const [dashjs, shaka, hlsjs] = measured;
    latencies.live = { segmentSeconds: SEGMENT, dashjs, shaka, hlsjs };

    expect(dashjs).toBeLessThanOrEqual(hlsjs + SEGMENT);
    expect(shaka).toBeLessThanOrEqual(hlsjs + SEGMENT);
    for (const p of players) expect((await p.state()).errors).toEqual([]);
  } finally {
    await Promise.all(players.map((p) => p.close()));
  }
}, 120_000);

test('dash.js and Shaka each resume within two target durations of the encoder\'s media coming back, no further behind live than before', async () => {
  // dash.js with its defaults plays along for the record (reported, not held to the bound).
  const tabs: { label: string; kind: PlayerKind; config?: Record<string, unknown> }[] = [
    { label: 'dashjs', kind: 'dashjs', config: DASHJS_CONFIG }, { label: 'shaka', kind: 'shaka' }, { label: 'hlsjs', kind: 'hlsjs' },
    { label: 'dashjs-defaults', kind: 'dashjs' },
  ];
  const players = await Promise.all(tabs.map((t) => openPlayer(browser, page, t.kind, source(t.kind), { config: t.config })));
  try {
    // GIVEN each player settled behind the live edge
    await Promise.all(players.map((p) => playFor(p, 8, 40_000)));
    const before = await Promise.all(players.map((p) => medianLatency(p, 5)));
    const periods = async () => ((await (await fetch(source('dashjs'))).text()).match(/<Period /g) ?? []).length;
    const periodsBefore = await periods();
    expect(await (await fetch(source('dashjs'))).text()).toContain(`minimumUpdatePeriod="PT${MPD_REFRESH_SECONDS.toFixed(3)}S"`);

    // WHEN the encoder goes away for 15 s and publishes again
    await dropEncoder();
    await sleep(15_000);
    const reconnected = Date.now();
    push();
    // (its new run's first segment takes a segment's duration and ffmpeg's start to reach the origin)
    while (await periods() === periodsBefore) {
      if (Date.now() - reconnected > 30_000) throw new Error('the encoder\'s new run never showed up in the MPD');
      await sleep(100);
    }
    const available = Date.now();

    // THEN each plays again within two target durations of its media being back
    const resumed = await Promise.all(players.map(async (p) => {
      const stalled = (await p.state()).currentTime;
      const state = await p.waitFor((s) => s.currentTime > stalled + 1 && !s.seeking, 'playback after the encoder came back', 90_000);
      return state.now;
    }));
    await Promise.all(players.map((p) => playFor(p, 6, 30_000)));
    const after = await Promise.all(players.map((p) => medianLatency(p, 5)));
    const seconds = (ms: number) => Math.round(ms / 100) / 10;
    latencies.reconnect = {
      awaySeconds: 15,
      newMediaAvailableAfterReconnectSeconds: seconds(available - reconnected),
      players: Object.fromEntries(tabs.map((t, i) => [t.label, {
        latencyBefore: before[i], resumedAfterNewMediaSeconds: seconds(resumed[i] - available), resumedAfterReconnectSeconds: seconds(resumed[i] - reconnected), latencyAfter: after[i],
      }])),
    };

    for (const [i, t] of tabs.entries()) {
      if (t.label !== 'dashjs' && t.label !== 'shaka') continue;
      expect({ player: t.label, resumedAfter: resumed[i] - available <= 2 * SEGMENT * 1000 }).toEqual({ player: t.label, resumedAfter: true });
      // "No further behind" within the MPD's refresh period: a player learns of the new Period at its
      // next MPD fetch, somewhere in the 2 s after the media is there, and plays on from where that
      // put it, so two joins differ by up to a refresh (Shaka: 4.5 s before, 6.4 s after, under load).
      // The failure this guards against is dash.js with its defaults: about 20 s further behind.
      expect({ player: t.label, noFurtherBehind: after[i] <= before[i] + MPD_REFRESH_SECONDS + 1, before: before[i], after: after[i] })
        .toEqual({ player: t.label, noFurtherBehind: true, before: before[i], after: after[i] });
      expect((await players[i].state()).errors).toEqual([]);
    }
  } finally {
    await Promise.all(players.map((p) => p.close()));
  }
}, 240_000);

/** Periods of an MPD as [start, end] seconds (end: its duration's, else the next one's start, else Infinity). */
async function periodsOf(url: string): Promise<[number, number][]> {
  const mpd = await (await fetch(url)).text();
  const seconds = (value: string | undefined) => (value === undefined ? undefined : Number(/^PT([\d.]+)S$/.exec(value)![1]));
  const found = [...mpd.matchAll(/<Period [^>]*>/g)].map((m) => ({
    start: seconds(/start="([^"]+)"/.exec(m[0])?.[1])!, duration: seconds(/duration="([^"]+)"/.exec(m[0])?.[1]),
  }));
  return found.map((p, i) => [p.start, p.duration !== undefined ? p.start + p.duration : found[i + 1]?.start ?? Infinity]);
}

describe.each(DASH_PLAYERS)('%s', (kind) => {
  test('seeks back inside the archive window and plays on from there, across the encoder\'s reconnect', async () => {
    // GIVEN the live MPD has two Periods with the encoder's absence between them (the test before)
    const periods = await periodsOf(source(kind));
    expect(periods.length).toBeGreaterThanOrEqual(2);
    const [firstEnd, secondStart] = [periods[periods.length - 2][1], periods[periods.length - 1][0]];
    expect(secondStart - firstEnd).toBeGreaterThan(10);
    const player = await openPlayer(browser, page, kind, source(kind), configOf(kind));
    try {
      const live = await playFor(player, 4, 40_000);
      expect(live.seekRange![0]).toBeLessThan(firstEnd - 20);

      // WHEN the viewer seeks back to 10 s before the encoder went away
      const target = firstEnd - 10;
      await player.seek(target);
      const since = Date.now();

      // THEN playback goes on from there, that far behind live, and on into the encoder's new run
      const state = await player.waitFor((s) => !s.seeking && s.currentTime >= target + 3, 'playback after the seek', 30_000);
      expect(state.currentTime).toBeLessThan(target + 12);
      expect(state.latency!).toBeGreaterThan(live.latency! + (live.currentTime - target) - 5);
      const across = await player.waitFor((s) => s.currentTime >= secondStart + 3, 'playback into the next Period', 30_000);
      expect(across.errors).toEqual([]);
      expect(longestStallMs(across, since + 3000)).toBeLessThanOrEqual(SEGMENT * 1000);
    } finally {
      await player.close();
    }
  }, 120_000);
});

describe('a stopped program', () => {
  beforeAll(async () => {
    manifest = withProgramState(manifest, 'news', 'vod', 'stopped');
    await stack.apply(manifest);
    const deadline = Date.now() + 30_000;
    while (readDescriptor(storage, VOD_ASSET)?.state !== 'stopped') {
      if (Date.now() > deadline) throw new Error('the vod program did not stop');
      await sleep(250);
    }
  }, 60_000);

  test.each(DASH_PLAYERS)('%s plays it as video on demand from the start, and seeks in it across the encoder\'s reconnect', async (kind) => {
    // GIVEN the stopped program's static MPD: two Periods end to end (the encoder's absence left out)
    const mpd = await (await fetch(source(kind, VOD_LOCATOR))).text();
    expect(mpd).toContain('type="static"');
    const periods = await periodsOf(source(kind, VOD_LOCATOR));
    expect(periods.length).toBeGreaterThanOrEqual(2);
    const boundary = periods[1][0];
    expect(boundary).toBeCloseTo(periods[0][1], 3);
    const recorded = segmentsOf(VOD_ASSET).reduce((sum, s) => sum + s.durationSeconds, 0);

    const player = await openPlayer(browser, page, kind, source(kind, VOD_LOCATOR), configOf(kind));
    try {
      // WHEN it plays from the start
      const started = await playFor(player, 3, 30_000);
      expect(started.live).toBe(false);
      expect(started.currentTime).toBeLessThan(10);
      expect(Math.abs(started.seekRange![1] - started.seekRange![0] - recorded)).toBeLessThan(1.5);

      // AND seeks to 3 s before the reconnect
      await player.seek(boundary - 3);
      const since = Date.now();

      // THEN it plays on from there into the second Period
      const state = await player.waitFor((s) => !s.seeking && s.currentTime >= boundary + 3, 'playback across the Period boundary', 30_000);
      expect(state.errors).toEqual([]);
      expect(longestStallMs(state, since + 3000)).toBeLessThanOrEqual(SEGMENT * 1000);
    } finally {
      await player.close();
    }
  }, 90_000);
});
