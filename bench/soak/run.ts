/**
 * bench/soak: a live channel pushed and played for a long time, with churn, on the local driver —
 * what an operator's event looks like after hours, compressed into `SOAK_MINUTES` (default 30):
 *
 * - an encoder (ffmpeg, lavfi test picture and tone, real time) pushes a 3-rung ladder; it drops for
 *   10 s every `dropEverySeconds` and reconnects (each drop is one expected discontinuity);
 * - viewers pull every rendition (3 video, 1 audio) through the balancer of a 2-replica endpoint, as
 *   players do: reload the media playlist each second, fetch every new segment; each viewer leaves and
 *   a new one joins every `viewerLifeSeconds`;
 * - a second program is started and stopped, a short-lived locator is added and expires, an origin
 *   replica is killed (`kill -9`: its supervisor starts it again) now and then.
 *
 * Sampled every `sampleSeconds`: RSS and open descriptors of every workload process (ingest, origin
 * replicas, balancer, key service), the account storage's bytes, and each new segment's latency (when a
 * viewer first saw it listed, minus its program date time plus duration: how long the chain took from
 * the last frame of a segment to a player's playlist).
 *
 * Checked at the end: no segment lost (every segment the ingest counted in its metrics is one a viewer
 * saw listed in the main program's playlist), discontinuities only where the encoder dropped; RSS and
 * descriptors flat after warm-up (a least-squares slope over each process's own lifetime after its
 * first `warmup` share of the run); storage flat once the archive window is full.
 *
 *   npm run bench:soak                       # 30 minutes
 *   SOAK_MINUTES=3 npm run bench:soak        # a smoke run (churn every ~40 s)
 *   SOAK_ORIGIN_CACHE_MIB=256 npm run bench:soak   # the production cache budget (see ORIGIN_CACHE_MIB)
 *
 * Last line: `RESULT soak_minutes=<m> lost_segments=<n> rss_slope_kb_per_min=<max over workloads>
 * fd_slope_per_min=<max> origin_rss_slope_kb_per_min=<max over replicas> storage_slope_kb_per_min=<after the window filled>
 * segment_latency_p95_ms=<ms> discontinuities=<seen> encoder_drops=<n>`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { storagePaths } from '../../lib/contract/storage-layout';
import { ORIGIN_CACHE } from '../../lib/contract/workload-env';
import { Manifest } from '../../lib/model/manifest';
import { readState, localPaths } from '../../lib/runtime/drivers/local-records';
import { LocalStack, startLocalStack } from '../support/local-stack';
import { testManifest } from '../support/manifest-fixtures';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const SHORT = MINUTES < 10;
const RUN_MS = MINUTES * 60_000;
const SAMPLE_MS = (SHORT ? 5 : 15) * 1000;
const DROP_EVERY_MS = (SHORT ? 40 : 180) * 1000;
const DROP_MS = 10_000;
const PROGRAM_EVERY_MS = (SHORT ? 50 : 240) * 1000;
const LOCATOR_EVERY_MS = (SHORT ? 60 : 300) * 1000;
const LOCATOR_LIFE_MS = (SHORT ? 30 : 120) * 1000;
const VIEWER_LIFE_MS = (SHORT ? 45 : 120) * 1000;
/** Replica kills, as shares of the run. */
const KILL_AT = [0.2, 0.45];
/** Share of each process's lifetime left out of its slope (caches, JIT and the archive window filling). */
const WARMUP = 0.25;
/** The main program's archive window: the minimum a program takes (5 min), so a 30-min run fills it six times. */
const WINDOW_SECONDS = 300;
/**
 * Each origin replica's segment cache (LIVESTACK_ORIGIN_CACHE_MIB; default 256 MiB in production). At
 * the ~6 MB a minute of segments a replica serves here, 256 MiB would take 40 minutes to fill, and a
 * 30-minute slope would measure the cache filling as designed; a cache that fills within warm-up lets
 * the slope show growth the budget does not explain.
 */
const ORIGIN_CACHE_MIB = Number(process.env.SOAK_ORIGIN_CACHE_MIB ?? 32);

const LADDER = [
  { name: '360p', width: 640, height: 360, videoBitrateKbps: 800, profile: 'main' as const },
  { name: '270p', width: 480, height: 270, videoBitrateKbps: 500, profile: 'main' as const },
  { name: '180p', width: 320, height: 180, videoBitrateKbps: 250, profile: 'main' as const },
];

interface Sample { readonly atMs: number; readonly pid: number; readonly rssKb: number; readonly fds: number }

const log = (line: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  log(`${MINUTES} min${SHORT ? ' (short mode: churn every ~40-60 s)' : ''}; samples every ${SAMPLE_MS / 1000} s; origin segment cache ${ORIGIN_CACHE_MIB} MiB a replica`);
  const base = await testManifest({ ladder: LADDER });
  const account = base.accounts[0];
  let manifest: Manifest = {
    ...base,
    accounts: [{
      ...account,
      endpoints: account.endpoints.map((e) => ({ ...e, scaleUnits: 2 })),
      channels: account.channels.map((c) => ({
        ...c,
        segmentDurationSeconds: 2,
        encoding: { type: 'standard' as const, preset: 'Custom' as const, ladder: LADDER, audioBitrateKbps: 64, speedPreset: 'superfast' as const },
        programs: [
          { ...c.programs[0], archiveWindowSeconds: WINDOW_SECONDS },
          { ...c.programs[0], name: 'extra', path: `${c.path}/extra`, assetName: 'news-extra', manifestName: 'extra', state: 'stopped' as const, archiveWindowSeconds: WINDOW_SECONDS },
        ],
      })),
    }],
  };
  const stack = await startLocalStack(manifest, { env: { ...process.env, [ORIGIN_CACHE.env]: String(ORIGIN_CACHE_MIB) } });
  const started = Date.now();
  const encoder = new ChurningEncoder();
  const viewers: Viewer[] = [];
  try {
    await stack.waitReady(90_000);
    const storage = stack.storageDir(account.name);
    const channel = manifest.accounts[0].channels[0];
    const keyFile = storagePaths.secret(storage, channel.streamKey.id);
    const key = fs.readFileSync(keyFile, 'utf8').trim();
    const originPort = account.endpoints[0].port;
    const master = `http://127.0.0.1:${originPort}/${account.locators[0].id}/index.m3u8`;
    encoder.start(`rtmp://127.0.0.1:${channel.port}/live/${key}`);

    const medias = await mediaPlaylists(master, 120_000);
    log(`playing ${medias.length} media playlists through the balancer: ${medias.map((m) => m.name).join(', ')}`);
    const tracker = new SegmentTracker();
    const joinViewer = (media: { name: string; url: string }) => viewers.push(new Viewer(media.name, media.url, tracker));
    for (const media of medias) joinViewer(media);

    const samples = new Map<string, Sample[]>();
    const storageSamples: { atMs: number; bytes: number }[] = [];
    const timers = {
      drop: started + DROP_EVERY_MS, program: started + PROGRAM_EVERY_MS, locator: started + LOCATOR_EVERY_MS,
      viewers: started + VIEWER_LIFE_MS, sample: started,
    };
    const kills = KILL_AT.map((share) => started + share * RUN_MS);
    let extraRunning = false;
    let locators = 0;
    let replicaKills = 0;
    while (Date.now() - started < RUN_MS) {
      const now = Date.now();
      if (now >= timers.sample) {
        timers.sample += SAMPLE_MS;
        for (const [name, sample] of sampleWorkloads(stack)) samples.set(name, [...(samples.get(name) ?? []), sample]);
        storageSamples.push({ atMs: now, bytes: directoryBytes(storage) });
        const origin = [...samples.entries()].filter(([n]) => n.includes('-origin-')).map(([n, s]) => `${n.replace(/^.*-origin-/, 'origin-')} ${Math.round(s[s.length - 1].rssKb / 1024)} MB`);
        log(`${Math.round((now - started) / 1000)} s: ${origin.join(', ')}; storage ${Math.round(storageSamples[storageSamples.length - 1].bytes / 1e6)} MB; segments seen ${tracker.seen}`);
      }
      if (now >= timers.drop) {
        timers.drop += DROP_EVERY_MS;
        log('encoder drops for 10 s');
        await encoder.drop(DROP_MS);
      }
      if (now >= timers.program) {
        timers.program += PROGRAM_EVERY_MS;
        extraRunning = !extraRunning;
        manifest = withExtraProgram(manifest, extraRunning ? 'running' : 'stopped');
        await stack.apply(manifest);
        log(`program extra ${extraRunning ? 'started' : 'stopped'}`);
      }
      if (now >= timers.locator) {
        timers.locator += LOCATOR_EVERY_MS;
        locators += 1;
        manifest = withShortLocator(manifest, `flash-${locators}`, new Date(Date.now() + LOCATOR_LIFE_MS).toISOString());
        await stack.apply(manifest);
        log(`locator flash-${locators} added, expiring in ${LOCATOR_LIFE_MS / 1000} s`);
      }
      if (now >= timers.viewers) {
        timers.viewers += VIEWER_LIFE_MS;
        const leaving = viewers.shift()!;
        leaving.stop();
        joinViewer(medias.find((m) => m.name === leaving.name)!);
        log(`viewer of ${leaving.name} left after ${leaving.segments} segments; a new one joined`);
      }
      if (kills.length > 0 && now >= kills[0]) {
        kills.shift();
        const replica = stack.specs.filter((s) => s.role === 'origin').map((s) => s.name).sort().pop()!;
        const pid = readState(localPaths.workloadDir(stack.stateDir, replica))?.child?.pid;
        if (pid) {
          process.kill(pid, 'SIGKILL');
          replicaKills += 1;
          log(`killed origin replica ${replica} (pid ${pid}) with SIGKILL`);
        }
      }
      await sleep(250);
    }

    log('run over: encoder stops, last segments settle');
    await encoder.stop();
    await sleep(8_000);
    for (const viewer of viewers) viewer.stop();
    const ingestName = stack.specs.find((s) => s.role === 'ingest')!;
    const counted = await segmentsCounted(new URL('/metrics', ingestName.healthCheck.httpUrl).toString());
    if (counted.size === 0) throw new Error('the ingest reported no segments_total: cannot tell what was lost');
    const finalPlaylists = await Promise.all(medias.map(async (m) => ({ name: m.name, text: await (await fetch(m.url)).text() })));
    for (const { name, text } of finalPlaylists) tracker.observe(name, text, Date.now());

    // Losses: what the ingest counted and no viewer ever saw listed in the main program (renditions by name; audio is "audio").
    let lost = 0;
    for (const [rendition, count] of counted) {
      const seen = tracker.uniqueFor(rendition);
      log(`rendition ${rendition}: ingest counted ${count} segments, viewers saw ${seen} listed`);
      lost += Math.max(0, count - seen);
    }
    const discontinuities = Math.max(...[...tracker.discontinuitiesByMedia.values()].map((s) => s.size), 0);

    const slopes = [...samples.entries()].map(([name, list]) => ({ name, ...slopesOf(list) }));
    for (const s of slopes) {
      log(`${s.name}: rss ${s.firstRssMb.toFixed(0)} -> ${s.lastRssMb.toFixed(0)} MB, slope ${s.rssKbPerMin.toFixed(0)} kB/min over ${s.minutes.toFixed(1)} min; fds ${s.firstFds} -> ${s.lastFds}, slope ${s.fdPerMin.toFixed(2)}/min`);
    }
    const windowFull = started + (WINDOW_SECONDS + 60) * 1000;
    const storageAfter = storageSamples.filter((s) => s.atMs >= windowFull);
    const storageSlope = storageAfter.length >= 3 ? slope(storageAfter.map((s) => [(s.atMs - started) / 60_000, s.bytes / 1024])) : NaN;
    log(`storage: ${storageSamples.map((s) => Math.round(s.bytes / 1e6)).filter((_, i, all) => i % Math.ceil(all.length / 12) === 0).join(' -> ')} MB; slope after the window filled: ${Number.isNaN(storageSlope) ? 'n/a (run shorter than the window)' : `${storageSlope.toFixed(0)} kB/min`}`);
    const latencies = tracker.latenciesMs.sort((a, b) => a - b);
    const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : NaN);
    log(`segment latency (segment end to a viewer's playlist): p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${latencies[latencies.length - 1]} ms over ${latencies.length} segments`);
    log(`churn: ${encoder.drops} encoder drops, ${replicaKills} replica kills, ${locators} short locators, program extra toggled ${Math.floor(RUN_MS / PROGRAM_EVERY_MS)} times`);
    log(`discontinuities seen in the main program: ${discontinuities} (expected ${encoder.drops}, one per encoder drop)`);

    const maxOf = (values: number[]) => Math.max(...values.filter((v) => Number.isFinite(v)));
    process.stdout.write(`RESULT soak_minutes=${MINUTES} lost_segments=${lost} rss_slope_kb_per_min=${maxOf(slopes.map((s) => s.rssKbPerMin)).toFixed(0)} `
      + `fd_slope_per_min=${maxOf(slopes.map((s) => s.fdPerMin)).toFixed(2)} origin_rss_slope_kb_per_min=${maxOf(slopes.filter((s) => s.name.includes('-origin-')).map((s) => s.rssKbPerMin)).toFixed(0)} `
      + `storage_slope_kb_per_min=${Number.isNaN(storageSlope) ? 'n/a' : storageSlope.toFixed(0)} segment_latency_p95_ms=${pct(95)} discontinuities=${discontinuities} encoder_drops=${encoder.drops}\n`);
  } finally {
    for (const viewer of viewers) viewer.stop();
    await encoder.stop();
    await stack.stop();
  }
}

/** The encoder, with drops: pushes until stopped; `drop` kills it and starts it again after a pause. */
class ChurningEncoder {
  private child?: ChildProcess;
  private url?: string;
  drops = 0;

  start(url: string): void {
    this.url = url;
    this.child = spawn('ffmpeg', [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', url,
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
  }

  async drop(ms: number): Promise<void> {
    await this.stop();
    this.drops += 1;
    await sleep(ms);
    this.start(this.url!);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** Segments seen per media playlist: unique URIs, discontinuities, latency of each segment's first sighting. */
class SegmentTracker {
  private readonly uris = new Map<string, Set<string>>();
  readonly discontinuitiesByMedia = new Map<string, Set<string>>();
  readonly latenciesMs: number[] = [];

  get seen(): number {
    return [...this.uris.values()].reduce((sum, s) => sum + s.size, 0);
  }

  uniqueFor(rendition: string): number {
    return this.uris.get(rendition)?.size ?? 0;
  }

  /** Reads one media playlist as a player received it at `atMs`; returns the URIs new to it. */
  observe(media: string, text: string, atMs: number): string[] {
    const known = this.uris.get(media) ?? new Set<string>();
    this.uris.set(media, known);
    const breaks = this.discontinuitiesByMedia.get(media) ?? new Set<string>();
    this.discontinuitiesByMedia.set(media, breaks);
    const fresh: string[] = [];
    let pdt: number | undefined;
    let duration = 0;
    let discontinuity = false;
    for (const line of text.split('\n')) {
      if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25));
      else if (line.startsWith('#EXTINF:')) duration = parseFloat(line.slice(8));
      else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
      else if (line !== '' && !line.startsWith('#')) {
        const uri = line.split('?')[0];
        if (discontinuity) breaks.add(uri);
        if (!known.has(uri)) {
          known.add(uri);
          fresh.push(line);
          // Latency only for segments that appeared while watching (not the window found on joining).
          if (pdt !== undefined && this.primed.has(media)) this.latenciesMs.push(Math.max(0, Math.round(atMs - (pdt + duration * 1000))));
        }
        pdt = undefined;
        discontinuity = false;
      }
    }
    this.primed.add(media);
    return fresh;
  }

  private readonly primed = new Set<string>();
}

/** A player on one media playlist: reloads it every second and fetches each new segment once. */
class Viewer {
  private stopped = false;
  segments = 0;

  constructor(readonly name: string, private readonly url: string, private readonly tracker: SegmentTracker) {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
  }

  private async loop(): Promise<void> {
    let first = true;
    while (!this.stopped) {
      try {
        const response = await fetch(this.url, { signal: AbortSignal.timeout(5_000) });
        if (response.ok) {
          const fresh = this.tracker.observe(this.name, await response.text(), Date.now());
          // A joining player starts near the live edge: the last three segments, as hls.js does.
          for (const uri of first ? fresh.slice(-3) : fresh) {
            const segment = await fetch(new URL(uri, this.url), { signal: AbortSignal.timeout(10_000) });
            await segment.arrayBuffer();
            if (segment.ok) this.segments += 1;
          }
          first = false;
        } else {
          await response.body?.cancel();
        }
      } catch {
        // A replica killed under the request, or the balancer switching: the next reload retries.
      }
      await sleep(1_000);
    }
  }
}

/** The master playlist's media playlists (variants and the audio rendition), once it lists them. */
async function mediaPlaylists(master: string, timeoutMs: number): Promise<{ name: string; url: string }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(master, { signal: AbortSignal.timeout(3_000) });
      if (response.ok) {
        const text = await response.text();
        const uris = [...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]).concat(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')));
        // The audio rendition is listed twice (EXT-X-MEDIA, and an audio-only variant): one viewer each.
        const byName = new Map(uris.map((uri) => [renditionOf(uri), new URL(uri, master).toString()]));
        if (byName.size > 0) return [...byName].map(([name, url]) => ({ name, url }));
      }
    } catch {
      // Not serving yet.
    }
    if (Date.now() > deadline) throw new Error(`no media playlists at ${master} after ${timeoutMs} ms`);
    await sleep(1_000);
  }
}

/** A media playlist's rendition name, as the ingest's metrics label it (`360p`, ..., `audio`). */
function renditionOf(uri: string): string {
  const parts = uri.split('?')[0].split('/');
  return parts.length > 1 ? parts[parts.length - 2] : parts[0].replace(/\.m3u8$/, '');
}

/** The ingest's `segments_total` per rendition. */
async function segmentsCounted(metricsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^livestack_ingest_segments_total\{[^}]*rendition="([^"]+)"[^}]*\} (\d+)/gm)) counts.set(match[1], Number(match[2]));
  return counts;
}

/**
 * RSS and open descriptors of each workload's process (the supervisor's child), by workload name; and
 * of the nginx processes an ingest runs beside itself (`<name>/nginx`, summed: master and workers). The
 * transcoding ffmpeg is left out: every encoder drop starts a new one, so it has no long lifetime to
 * measure a slope over.
 */
function sampleWorkloads(stack: LocalStack): Map<string, Sample> {
  const out = new Map<string, Sample>();
  const atMs = Date.now();
  for (const spec of stack.specs) {
    const pid = readState(localPaths.workloadDir(stack.stateDir, spec.name))?.child?.pid;
    if (!pid) continue;
    const own = processSample(pid);
    if (!own) continue;
    out.set(spec.name, { atMs, pid, ...own });
    const nginx = descendants(pid).filter((child) => readProc(child, 'comm').trim() === 'nginx').map(processSample).filter((s): s is { rssKb: number; fds: number } => s !== undefined);
    if (nginx.length > 0) out.set(`${spec.name}/nginx`, { atMs, pid, rssKb: nginx.reduce((sum, s) => sum + s.rssKb, 0), fds: nginx.reduce((sum, s) => sum + s.fds, 0) });
  }
  return out;
}

function processSample(pid: number): { rssKb: number; fds: number } | undefined {
  try {
    const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readProc(pid, 'status'))?.[1]);
    return Number.isFinite(rssKb) ? { rssKb, fds: fs.readdirSync(`/proc/${pid}/fd`).length } : undefined;
  } catch {
    // Restarting right now: the next sample sees the new process.
    return undefined;
  }
}

function descendants(pid: number): number[] {
  const children = readProc(pid, `task/${pid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

function readProc(pid: number, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** Slopes over the current process's lifetime (samples of its pid), after its warm-up share. */
function slopesOf(samples: readonly Sample[]): { rssKbPerMin: number; fdPerMin: number; minutes: number; firstRssMb: number; lastRssMb: number; firstFds: number; lastFds: number } {
  const last = samples[samples.length - 1];
  const life = samples.filter((s) => s.pid === last.pid);
  const span = last.atMs - life[0].atMs;
  const kept = life.filter((s) => s.atMs - life[0].atMs >= WARMUP * Math.max(span, RUN_MS * 0.5));
  const use = kept.length >= 3 ? kept : life;
  const minutes = (use[use.length - 1].atMs - use[0].atMs) / 60_000;
  return {
    rssKbPerMin: slope(use.map((s) => [s.atMs / 60_000, s.rssKb])),
    fdPerMin: slope(use.map((s) => [s.atMs / 60_000, s.fds])),
    minutes,
    firstRssMb: use[0].rssKb / 1024,
    lastRssMb: last.rssKb / 1024,
    firstFds: use[0].fds,
    lastFds: last.fds,
  };
}

/** Least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  if (points.length < 2) return NaN;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? NaN : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

function directoryBytes(dir: string): number {
  let total = 0;
  const seen = new Set<number>();
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      try {
        if (entry.isDirectory()) walk(full);
        else {
          // Programs hard-link segments: count each inode once, as the disk holds it.
          const stat = fs.statSync(full);
          if (!seen.has(stat.ino)) total += stat.size;
          seen.add(stat.ino);
        }
      } catch {
        // Removed by retention while walking.
      }
    }
  };
  walk(dir);
  return total;
}

function withExtraProgram(manifest: Manifest, state: 'running' | 'stopped'): Manifest {
  const copy = structuredClone(manifest);
  copy.accounts[0].channels[0].programs.find((p) => p.name === 'extra')!.state = state;
  return copy;
}

function withShortLocator(manifest: Manifest, name: string, end: string): Manifest {
  const copy = structuredClone(manifest);
  const account = copy.accounts[0];
  // Expired ones go: the manifest keeps only the main locator and the newest short one.
  account.locators = [account.locators[0], { ...account.locators[0], name, path: `${account.path}/${name}`, id: randomUUID(), end }];
  return copy;
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
