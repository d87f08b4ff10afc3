/**
 * bench/latency: glass-to-glass latency of a channel in each latency mode, measured without trusting
 * livestack's timestamps. This process paints the wall clock (ms, as 32 black-or-white blocks and
 * their inverse) into every frame it hands to an ffmpeg encoder, which pushes RTMP in real time to
 * the channel; hls.js in headless Chromium plays the channel's locator, and for every frame the page
 * presents it reads the blocks back from a canvas and takes `now - painted`. Page and painter share
 * this machine's clock. Each mode plays for BENCH_SECONDS (default 60) after the player started;
 * rebuffers are the `waiting` events of the video element once playing. BENCH_MODES=low measures one
 * mode only (the RESULT line then needs both: it is printed only when both ran).
 *
 *   npm run bench:latency        (heavy: run it under the shared lock)
 *
 * Last line: `RESULT latency_standard_s=<p50> latency_low_s=<p50> rebuffers_low=<n>`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import { Page } from 'playwright-core';
import { LatencyMode, MANIFEST_API_VERSION, Manifest } from '../../lib/model/manifest';
import { launchChromium } from '../support/browser';
import { freePort, testAccountBase, testEndpoint } from '../support/manifest-fixtures';
import { startLocalStack } from '../support/local-stack';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WIDTH = 640;
const HEIGHT = 360;
const FPS = 30;
/** The clock modulo 2^32 ms (49 days): enough to tell any two moments of a run apart. */
const BITS = 32;
/** Rows of the code: the clock in blocks of 20 x 32 pixels, then its inverse (a frame that does not read back both is skipped). */
const BLOCK_W = WIDTH / BITS;
const BLOCK_H = 32;

/** A small ladder: the bench measures latency, not transcoding capacity. */
const LADDER = {
  type: 'standard' as const,
  preset: 'Custom' as const,
  ladder: [
    { name: '360p', width: 640, height: 360, videoBitrateKbps: 900, profile: 'main' as const },
    { name: '180p', width: 320, height: 180, videoBitrateKbps: 300, profile: 'main' as const },
  ],
  audioBitrateKbps: 64,
  speedPreset: 'veryfast' as const,
};

interface ModeResult {
  readonly mode: LatencyMode;
  readonly samples: number;
  readonly p50: number;
  readonly p95: number;
  readonly rebuffers: number;
  readonly hlsLatency?: number;
  /** hls.js's target latency at the end: PART-HOLD-BACK, plus a second for each stall it saw (liveSyncOnStallIncrease). */
  readonly hlsTarget?: number;
}

/** A yuv420p frame: mid grey, with the clock code in the top rows. */
function paint(frame: Buffer, now: number): void {
  const luma = frame.subarray(0, WIDTH * HEIGHT);
  const ms = now % 2 ** BITS;
  for (let bit = 0; bit < BITS; bit++) {
    const on = Math.floor(ms / 2 ** (BITS - 1 - bit)) % 2 === 1;
    for (let y = 0; y < 2 * BLOCK_H; y++) {
      const value = (y < BLOCK_H) === on ? 235 : 16;
      luma.fill(value, y * WIDTH + bit * BLOCK_W, y * WIDTH + (bit + 1) * BLOCK_W);
    }
  }
}

/** ffmpeg encoding painted frames (from stdin, paced by this process) and a tone, pushing RTMP. */
function startPainter(url: string): { process: ChildProcess; stop: () => void } {
  const child = spawn('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${WIDTH}x${HEIGHT}`, '-r', String(FPS), '-i', 'pipe:0',
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', String(FPS), '-pix_fmt', 'yuv420p', '-b:v', '1500k',
    '-c:a', 'aac', '-b:a', '64k', '-ac', '2', '-f', 'flv', url,
  ], { stdio: ['pipe', 'ignore', 'inherit'] });
  const frame = Buffer.alloc((WIDTH * HEIGHT * 3) / 2, 128);
  const started = Date.now();
  let sent = 0;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    // Every frame due by now, each stamped with the moment it is handed over (the "glass").
    while (started + (sent * 1000) / FPS <= Date.now()) {
      paint(frame, Date.now());
      child.stdin!.write(frame);
      sent++;
    }
    setTimeout(tick, Math.max(0, started + (sent * 1000) / FPS - Date.now()));
  };
  child.stdin!.on('error', () => undefined);
  tick();
  return { process: child, stop: () => { stopped = true; child.stdin!.end(); child.kill('SIGKILL'); } };
}

function playerPage(hlsJsUrl: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>latency</title></head><body>
<video id="video" muted playsinline width="${WIDTH}" height="${HEIGHT}"></video>
<canvas id="code" width="${WIDTH}" height="${2 * BLOCK_H}" style="display:none"></canvas>
<script src="${hlsJsUrl}"></script>
<script>
  window.samples = []; window.rebuffers = 0; window.playing = false; window.events = [];
  window.start = (source) => {
    const video = document.getElementById('video');
    const ctx = document.getElementById('code').getContext('2d', { willReadFrequently: true });
    const hls = new Hls({ lowLatencyMode: true });
    window.hls = hls;
    hls.on(Hls.Events.ERROR, (_e, d) => window.events.push('error ' + d.details + (d.fatal ? ' (fatal)' : '') + (d.response ? ' ' + d.response.code : '') + (d.error ? ' ' + d.error.message : '')));
    hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch((e) => window.events.push('play refused ' + e.message)));
    video.addEventListener('playing', () => { window.playing = true; });
    video.addEventListener('waiting', () => { if (window.playing) window.rebuffers++; });
    const read = () => {
      const now = Date.now();
      if (video.videoWidth > 0) {
        ctx.drawImage(video, 0, 0, video.videoWidth, video.videoHeight * ${2 * BLOCK_H} / ${HEIGHT}, 0, 0, ${WIDTH}, ${2 * BLOCK_H});
        const data = ctx.getImageData(0, 0, ${WIDTH}, ${2 * BLOCK_H}).data;
        let ms = 0; let ok = true;
        for (let bit = 0; bit < ${BITS}; bit++) {
          const x = Math.floor((bit + 0.5) * ${BLOCK_W});
          const top = data[(${BLOCK_H / 2} * ${WIDTH} + x) * 4] > 128;
          const bottom = data[(${(3 * BLOCK_H) / 2} * ${WIDTH} + x) * 4] > 128;
          if (top === bottom) { ok = false; break; }
          ms = ms * 2 + (top ? 1 : 0);
        }
        if (ok && window.playing) window.samples.push(((now % ${2 ** 32}) - ms + ${2 ** 32}) % ${2 ** 32});
      }
      video.requestVideoFrameCallback(read);
    };
    video.requestVideoFrameCallback(read);
    hls.loadSource(source);
    hls.attachMedia(video);
  };
</script></body></html>`;
}

/** One account: channel `bench` in `mode` with its defaults (2-s key frames and 4-s segments; 1 s and 2 s when low), a program, an origin. */
async function benchManifest(mode: LatencyMode): Promise<Manifest> {
  const name = `b${randomBytes(4).toString('hex')}`;
  const [keyPort, originPort, ingestPort] = [await freePort(), await freePort(), await freePort()];
  return {
    apiVersion: MANIFEST_API_VERSION,
    accounts: [{
      ...testAccountBase(name, keyPort),
      endpoints: [{ ...testEndpoint(name, originPort), corsAllowedOrigins: ['*'] }],
      channels: [{
        name: 'bench', path: `app/${name}/bench`, protocols: ['rtmp'], port: ingestPort,
        streamKey: { kind: 'variable', id: 'bench-key', name: 'bench_key' }, ingestAllowList: [], previewAllowList: [],
        ...(mode === 'low' ? { latency: 'low' as const, keyFrameIntervalSeconds: 1, segmentDurationSeconds: 2 } : { keyFrameIntervalSeconds: 2, segmentDurationSeconds: 4 }),
        encoding: LADDER, state: 'running',
        programs: [{ name: 'live', path: `app/${name}/bench/live`, assetName: 'bench-live', manifestName: 'index', archiveWindowSeconds: 600, state: 'running' }],
      }],
      keyPolicies: [],
      deliveryPolicies: [{ name: 'clear', path: `app/${name}/clear`, protocols: ['hls'], encryption: { type: 'none' } }],
      locators: [{ name: 'watch', path: `app/${name}/watch`, id: randomUUID(), channel: 'bench', program: 'live', endpoint: 'web', deliveryPolicy: 'clear' }],
    }],
  };
}

async function measure(mode: LatencyMode, page: Page): Promise<ModeResult> {
  const key = `k${randomBytes(12).toString('hex')}`;
  const manifest = await benchManifest(mode);
  const account = manifest.accounts[0];
  const stack = await startLocalStack(manifest, { env: { ...process.env, TF_VAR_bench_key: key } });
  const painter = { current: undefined as ReturnType<typeof startPainter> | undefined };
  try {
    await stack.waitReady(60_000);
    const origin = `http://127.0.0.1:${account.endpoints[0].port}`;
    const source = `${origin}/${account.locators[0].id}/index.m3u8`;
    painter.current = startPainter(`rtmp://127.0.0.1:${account.channels[0].port}/live/${key}`);
    await until(`${mode}: the locator serves a playlist`, async () => (await fetch(source)).ok, 90_000);
    await page.evaluate((url) => (window as unknown as { start: (u: string) => void }).start(url), source);
    await until(`${mode}: the player is playing`, () => page.evaluate(() => (window as unknown as { playing: boolean }).playing), 60_000).catch(async (error: Error) => {
      const events = await page.evaluate(() => (window as unknown as { events: string[] }).events.slice(0, 20));
      throw new Error(`${error.message} (player events: ${events.join('; ') || 'none'})`);
    });
    // Let the player settle at its live position, then count from zero.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await page.evaluate(() => { const w = window as unknown as { samples: number[]; rebuffers: number }; w.samples = []; w.rebuffers = 0; });
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const { samples, rebuffers, hlsLatency, hlsTarget, events } = await page.evaluate(() => {
      const w = window as unknown as { samples: number[]; rebuffers: number; hls: { latency: number; targetLatency: number }; events: string[] };
      return { samples: w.samples, rebuffers: w.rebuffers, hlsLatency: w.hls.latency, hlsTarget: w.hls.targetLatency, events: w.events };
    });
    if (samples.length < SECONDS * 5) throw new Error(`${mode}: only ${samples.length} frames read back in ${SECONDS} s (player events: ${events.join('; ') || 'none'})`);
    const sorted = [...samples].sort((a, b) => a - b);
    const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000;
    const fatal = events.filter((e) => e.includes('fatal'));
    if (fatal.length) throw new Error(`${mode}: the player failed: ${fatal.join('; ')}`);
    return { mode, samples: samples.length, p50: pick(0.5), p95: pick(0.95), rebuffers, hlsLatency, hlsTarget };
  } finally {
    painter.current?.stop();
    await stack.stop();
  }
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function main(): Promise<void> {
  const browser = await launchChromium();
  const pagePort = await freePort();
  // hls.js from the package, as the origin's preview page serves it.
  const hlsJs = require.resolve('hls.js/dist/hls.min.js');
  const server = http.createServer((req, res) => {
    if (req.url === '/hls.min.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(fs.readFileSync(hlsJs));
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(playerPage(`http://127.0.0.1:${pagePort}/hls.min.js`));
  });
  await new Promise<void>((resolve) => server.listen(pagePort, '127.0.0.1', resolve));
  const results: ModeResult[] = [];
  try {
    for (const mode of (process.env.BENCH_MODES?.split(',') ?? ['standard', 'low']) as LatencyMode[]) {
      const page = await browser.context.newPage();
      await page.goto(`http://127.0.0.1:${pagePort}/`);
      console.log(`bench/latency: ${mode}: pushing ${WIDTH}x${HEIGHT}@${FPS} with the clock painted in, playing ${SECONDS} s with hls.js (load average ${os.loadavg()[0].toFixed(2)})`);
      const result = await measure(mode, page);
      results.push(result);
      console.log(`bench/latency: ${mode}: ${result.samples} frames read back, p50 ${result.p50.toFixed(2)} s, p95 ${result.p95.toFixed(2)} s, ${result.rebuffers} rebuffers, hls.js target latency ${(result.hlsTarget ?? NaN).toFixed(2)} s`);
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  console.log('mode       frames   p50_s   p95_s  rebuffers  hls.js_latency_s');
  for (const r of results) {
    console.log(`${r.mode.padEnd(9)} ${String(r.samples).padStart(7)} ${r.p50.toFixed(2).padStart(7)} ${r.p95.toFixed(2).padStart(7)} ${String(r.rebuffers).padStart(10)} ${(r.hlsLatency ?? NaN).toFixed(2).padStart(17)}`);
  }
  const standard = results.find((r) => r.mode === 'standard');
  const low = results.find((r) => r.mode === 'low');
  if (!standard || !low) return;
  console.log(`RESULT latency_standard_s=${standard.p50.toFixed(2)} latency_low_s=${low.p50.toFixed(2)} rebuffers_low=${low.rebuffers}`);
}

main().catch((error: Error) => {
  console.error(`bench/latency failed: ${error.message}`);
  process.exit(1);
});
