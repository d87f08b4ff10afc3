/**
 * The players real viewers use, on a page of their own: dash.js, Shaka Player and hls.js from the
 * installed npm packages, served with a test page from 127.0.0.1 (a secure context, as EME needs; not
 * file://, so the origin's CORS is exercised for real), driven in headless Chromium through
 * playwright-core. The page samples the player every 100 ms and reports what a viewer would see:
 * current time, buffered ranges, stalls, errors, the representation on screen, live latency, and
 * every URL the page fetched.
 *
 * ```ts
 * const page = await startPlayerPage();
 * const player = await openPlayer(browser, page, 'dashjs', mpdUrl);
 * await player.waitFor((s) => s.currentTime > 5, 'playing', 30_000);
 * const state = await player.state();
 * await player.close(); await page.close();
 * ```
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { Page } from 'playwright-core';
import { freePort } from '../../../bench/support/manifest-fixtures';
import { Browser } from './browser';

export type PlayerKind = 'dashjs' | 'shaka' | 'hlsjs';

export const PLAYER_NAMES: Record<PlayerKind, string> = { dashjs: 'dash.js', shaka: 'Shaka Player', hlsjs: 'hls.js' };

/** A playhead that did not move for this long (while not paused or seeking) counts as a stall. */
export const STALL_THRESHOLD_MS = 300;

export interface Stall {
  /** Epoch ms when the playhead stopped and how long it stood (still standing: until the sample). */
  readonly at: number;
  readonly ms: number;
  /** Media time it stood at. */
  readonly time: number;
  readonly ongoing: boolean;
}

export interface PlayerState {
  /** Epoch ms of the sample. */
  readonly now: number;
  readonly currentTime: number;
  readonly paused: boolean;
  readonly seeking: boolean;
  readonly readyState: number;
  readonly buffered: [number, number][];
  /** What the player lets a viewer seek in (its DVR window for live, the whole asset for VOD). */
  readonly seekRange?: [number, number];
  /** Decoded picture size: which video representation is on screen. */
  readonly videoWidth: number;
  readonly videoHeight: number;
  /** Total media time played (currentTime advances while playing, excluding seeks). */
  readonly playedSeconds: number;
  readonly stalls: Stall[];
  readonly errors: string[];
  readonly events: string[];
  /**
   * now - wall-clock time of the frame on screen, seconds; live only. DASH: availabilityStartTime +
   * currentTime (the MPD maps its timeline to the wall clock); hls.js: the program date time of the
   * frame. Both are the capture time ingest recorded, so the figures compare.
   */
  readonly latency?: number;
  /** The latency the player itself reports (dash.js, Shaka: to wall clock; hls.js: to the playlist's end). */
  readonly playerLatency?: number;
  /** Whether the player says the presentation is live. */
  readonly live?: boolean;
  /** Video representations the player offers: id (or level index), bandwidth, height. */
  readonly videoTracks: { id: string; bandwidth: number; height: number }[];
  /** Every URL the page fetched, in order. */
  readonly fetched: string[];
}

export interface PlayerPage {
  readonly origin: string;
  close(): Promise<void>;
}

export interface Player {
  readonly kind: PlayerKind;
  readonly page: Page;
  state(): Promise<PlayerState>;
  /** Polls the state until `predicate` holds; fails after `timeoutMs` with `what` and the last state. */
  waitFor(predicate: (state: PlayerState) => boolean, what: string, timeoutMs: number): Promise<PlayerState>;
  /** Pins the video representation (index into videoTracks), or back to adaptive with 'auto'. */
  selectVideo(index: number | 'auto'): Promise<void>;
  /** Seeks the video element (every player follows the element's seeks). */
  seek(time: number): Promise<void>;
  close(): Promise<void>;
}

export interface OpenPlayerOptions {
  /** A bearer token the player sends to URLs under `keyBase` (key requests), and only there. */
  readonly token?: string;
  readonly keyBase?: string;
  /** Player settings on top of the defaults (dash.js `updateSettings`, Shaka `configure`, hls.js config). */
  readonly config?: Record<string, unknown>;
}

const LIBRARIES: Record<string, () => string> = {
  'dash.all.min.js': () => require.resolve('dashjs'),
  'shaka-player.compiled.js': () => require.resolve('shaka-player'),
  'hls.min.js': () => require.resolve('hls.js/dist/hls.min.js'),
};

/** Serves the player page and the three players from 127.0.0.1 on a free port. */
export async function startPlayerPage(): Promise<PlayerPage> {
  const port = await freePort();
  const scripts = new Map(Object.entries(LIBRARIES).map(([name, resolve]) => [name, fs.readFileSync(resolve())]));
  const server = http.createServer((req, res) => {
    const name = (req.url ?? '/').replace(/^\/lib\//, '');
    const script = scripts.get(name);
    if (script) return void res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(script);
    if (req.url === '/' || req.url === '/index.html') return void res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Opens the page in a new tab and starts `kind` on `source` (muted autoplay). */
export async function openPlayer(browser: Browser, page: PlayerPage, kind: PlayerKind, source: string, options: OpenPlayerOptions = {}): Promise<Player> {
  const tab = await browser.context.newPage();
  await tab.goto(`${page.origin}/`, { timeout: 15_000 });
  await tab.evaluate(([k, s, o]) => (window as unknown as Harness).harness.start(k, s, o), [kind, source, options] as const);
  const state = () => tab.evaluate(() => (window as unknown as Harness).harness.state());
  return {
    kind,
    page: tab,
    state,
    async waitFor(predicate, what, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = await state();
      while (!predicate(last)) {
        if (Date.now() > deadline) throw new Error(`${PLAYER_NAMES[kind]}: ${what} did not happen within ${timeoutMs} ms; last state: ${describe(last)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        last = await state();
      }
      return last;
    },
    selectVideo: (index) => tab.evaluate((i) => (window as unknown as Harness).harness.selectVideo(i), index),
    seek: (time) => tab.evaluate((t) => (window as unknown as Harness).harness.seek(t), time),
    close: () => tab.close(),
  };
}

/** A state for error messages: the facts, not the URL list. */
export function describe(state: PlayerState): string {
  const { fetched, events, ...rest } = state;
  return JSON.stringify({ ...rest, fetchedCount: fetched.length, lastFetched: fetched.slice(-5), events: events.slice(-20) });
}

/** The longest stall in a state (ongoing ones included), in ms, counting only stalls that began at or after `since`. */
export function longestStallMs(state: PlayerState, since = 0): number {
  return Math.max(0, ...state.stalls.filter((s) => s.at >= since).map((s) => s.ms));
}

interface Harness {
  harness: {
    start(kind: PlayerKind, source: string, options: OpenPlayerOptions): void;
    state(): PlayerState;
    selectVideo(index: number | 'auto'): void;
    seek(time: number): void;
  };
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>livestack players</title></head>
<body>
<video id="video" muted playsinline width="640" height="360"></video>
<script src="/lib/dash.all.min.js"></script>
<script src="/lib/shaka-player.compiled.js"></script>
<script src="/lib/hls.min.js"></script>
<script>
'use strict';
const video = document.getElementById('video');
const errors = [];
const events = [];
const stalls = [];
const fetched = [];
let kind;
let player;
let played = 0;
let lastTime;
let stallStart;
const log = (message) => { events.push(Math.round(performance.now()) + ' ' + message); if (events.length > 500) events.shift(); };

performance.setResourceTimingBufferSize(100000);
new PerformanceObserver((list) => { for (const entry of list.getEntries()) fetched.push(entry.name); }).observe({ type: 'resource', buffered: true });

for (const name of ['waiting', 'stalled', 'seeking', 'seeked', 'playing', 'ended', 'error']) {
  video.addEventListener(name, () => log('video ' + name + ' at ' + video.currentTime.toFixed(3)));
}

function sample() {
  const now = Date.now();
  const time = video.currentTime;
  const moving = lastTime !== undefined && time > lastTime;
  if (moving && !video.seeking && time - lastTime < 1) played += time - lastTime;
  const standing = !moving && !video.paused && !video.seeking && !video.ended && lastTime !== undefined && video.readyState > 0;
  if (standing) {
    stallStart ??= { at: now, time };
  } else if (stallStart) {
    if (now - stallStart.at >= ${STALL_THRESHOLD_MS}) stalls.push({ at: stallStart.at, ms: now - stallStart.at, time: stallStart.time, ongoing: false });
    stallStart = undefined;
  }
  lastTime = time;
}
setInterval(sample, 100);

// The MPD's availabilityStartTime: a DASH playhead's wall-clock time is AST + currentTime, whatever
// clock corrections a player applies to its own latency figure.
let availabilityStart;

function playheadWallMs() {
  if (kind === 'hlsjs') return player.playingDate ? player.playingDate.getTime() : undefined;
  return availabilityStart === undefined ? undefined : availabilityStart + video.currentTime * 1000;
}

function seekRange() {
  try {
    if (kind === 'dashjs') { const w = player.getDvrWindow(); return w && isFinite(w.start) && isFinite(w.end) ? [w.start, w.end] : undefined; }
    if (kind === 'shaka') { const r = player.seekRange(); return [r.start, r.end]; }
  } catch (e) { return undefined; }
  const s = video.seekable;
  return s.length ? [s.start(0), s.end(s.length - 1)] : undefined;
}

function videoTracks() {
  try {
    if (kind === 'dashjs') return player.getRepresentationsByType('video').map((r) => ({ id: String(r.id), bandwidth: r.bandwidth, height: r.height }));
    if (kind === 'shaka') return player.getVariantTracks().map((t) => ({ id: String(t.id), bandwidth: t.videoBandwidth || t.bandwidth, height: t.height }));
    if (kind === 'hlsjs') return (player.levels || []).map((l, i) => ({ id: String(i), bandwidth: l.bitrate, height: l.height }));
  } catch (e) { return []; }
  return [];
}

window.harness = {
  start(k, source, options) {
    kind = k;
    if (k !== 'hlsjs') {
      fetch(source).then((r) => r.text()).then((mpd) => {
        const ast = /availabilityStartTime="([^"]+)"/.exec(mpd);
        if (ast) availabilityStart = Date.parse(ast[1]);
      }).catch((e) => errors.push('page could not read the MPD: ' + e.message));
    }
    const authorize = (url) => options.token && options.keyBase && url.startsWith(options.keyBase);
    if (k === 'dashjs') {
      player = dashjs.MediaPlayer().create();
      if (options.config) player.updateSettings(options.config);
      player.on(dashjs.MediaPlayer.events.ERROR, (e) => errors.push('dash.js error ' + JSON.stringify(e.error || e)));
      player.on(dashjs.MediaPlayer.events.PLAYBACK_STALLED, () => log('dash.js stalled'));
      player.on(dashjs.MediaPlayer.events.PERIOD_SWITCH_COMPLETED, (e) => log('dash.js period ' + (e.toStreamInfo && e.toStreamInfo.id)));
      player.on(dashjs.MediaPlayer.events.QUALITY_CHANGE_RENDERED, (e) => log('dash.js ' + e.mediaType + ' quality ' + (e.newRepresentation && e.newRepresentation.id)));
      player.initialize(video, source, true);
    } else if (k === 'shaka') {
      shaka.polyfill.installAll();
      player = new shaka.Player();
      if (options.config) player.configure(options.config);
      player.addEventListener('error', (e) => errors.push('Shaka error ' + e.detail.code + ' ' + JSON.stringify(e.detail.data).slice(0, 300)));
      player.addEventListener('gapjumped', () => log('shaka gap jumped to ' + video.currentTime.toFixed(3)));
      player.addEventListener('stalldetected', () => log('shaka stall detected'));
      player.addEventListener('adaptation', () => log('shaka adaptation'));
      player.getNetworkingEngine().registerRequestFilter((type, request) => {
        if (authorize(request.uris[0])) request.headers['Authorization'] = 'Bearer ' + options.token;
      });
      player.attach(video).then(() => player.load(source)).then(() => video.play()).catch((e) => errors.push('Shaka load ' + (e.code || '') + ' ' + (e.message || '')));
    } else {
      player = new Hls({ ...(options.config || {}), xhrSetup: (xhr, url) => { if (authorize(url)) xhr.setRequestHeader('Authorization', 'Bearer ' + options.token); } });
      player.on(Hls.Events.ERROR, (_e, data) => (data.fatal ? errors : events).push('hls.js error ' + data.details + (data.fatal ? ' (fatal)' : '')));
      player.on(Hls.Events.KEY_LOADED, () => log('hls.js key loaded'));
      player.on(Hls.Events.MANIFEST_PARSED, (_e, data) => { log('hls.js manifest parsed: ' + data.levels.length + ' levels'); video.play().catch((e) => errors.push('play() ' + e.message)); });
      player.loadSource(source);
      player.attachMedia(video);
    }
  },
  state() {
    sample();
    const now = Date.now();
    const wall = playheadWallMs();
    const buffered = [];
    for (let i = 0; i < video.buffered.length; i++) buffered.push([video.buffered.start(i), video.buffered.end(i)]);
    let playerLatency;
    let live;
    try {
      if (kind === 'dashjs') { live = player.isDynamic(); playerLatency = live ? player.getCurrentLiveLatency() : undefined; }
      if (kind === 'shaka') { live = player.isLive(); playerLatency = live ? player.getStats().liveLatency : undefined; }
      if (kind === 'hlsjs') { live = player.levels?.[Math.max(0, player.currentLevel)]?.details?.live; playerLatency = player.latency; }
    } catch (e) { /* not ready */ }
    const ongoing = stallStart && now - stallStart.at >= ${STALL_THRESHOLD_MS} ? [{ at: stallStart.at, ms: now - stallStart.at, time: stallStart.time, ongoing: true }] : [];
    return {
      now, currentTime: video.currentTime, paused: video.paused, seeking: video.seeking, readyState: video.readyState,
      buffered, seekRange: seekRange(), videoWidth: video.videoWidth, videoHeight: video.videoHeight, playedSeconds: played,
      stalls: [...stalls, ...ongoing], errors: [...errors], events: [...events],
      latency: wall === undefined || isNaN(wall) ? undefined : (now - wall) / 1000,
      playerLatency: typeof playerLatency === 'number' && isFinite(playerLatency) ? playerLatency : undefined,
      live, videoTracks: videoTracks(), fetched: [...fetched],
    };
  },
  selectVideo(index) {
    if (kind === 'dashjs') {
      player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: index === 'auto' } } } });
      if (index !== 'auto') player.setRepresentationForTypeByIndex('video', index, true);
    } else if (kind === 'shaka') {
      player.configure({ abr: { enabled: index === 'auto' } });
      if (index !== 'auto') player.selectVariantTrack(player.getVariantTracks()[index], true);
    } else {
      player.currentLevel = index === 'auto' ? -1 : index;
    }
    log('selected video ' + index);
  },
  seek(time) {
    log('seek to ' + time);
    video.currentTime = time;
  },
};
</script>
</body></html>
`;
