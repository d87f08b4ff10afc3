/**
 * bench/capacity: the capacity model of one host, measured on this machine.
 *
 * (a) Channel density: Default720p channels (720p/540p/360p, x264 veryfast, AAC) added one by one to a
 *     running account, each a real ingest workload fed by its own real-time ffmpeg push of a 720p30
 *     testsrc2 + sine stream, until one falls behind. A channel keeps real time when its top rendition's
 *     production rate over the window (media seconds of new segments / wall seconds) is >= THRESHOLD.
 * (b) Viewers per origin replica: HLS viewers fetching a 3 Mbit/s rendition on the live schedule from
 *     one origin replica, doubled until the p99 of a playlist + segment fetch passes one target duration.
 *
 * Prints per-unit figures and what they mean for `scaleUnits` and resource requests, and ends with
 *   RESULT channels_per_host=... viewers_per_origin=... mbps_per_origin=...
 *
 *   npm run bench:capacity
 *   BENCH_WINDOW_SECONDS=32 BENCH_MAX_CHANNELS=8 BENCH_VIEWERS_START=250 BENCH_VIEWERS_MAX=16000 BENCH_STEP_SECONDS=20
 *   BENCH_PART=density|viewers (one part only)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeTestStream } from '../support/live-push';
import { measureDensity } from './density';
import { measureViewers } from './viewers';

const WINDOW_SECONDS = Number(process.env.BENCH_WINDOW_SECONDS ?? 32);
const MAX_CHANNELS = Number(process.env.BENCH_MAX_CHANNELS ?? 8);
const VIEWERS_START = Number(process.env.BENCH_VIEWERS_START ?? 250);
const VIEWERS_MAX = Number(process.env.BENCH_VIEWERS_MAX ?? 16_000);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 20);
const PART = process.env.BENCH_PART ?? 'all';
/** Production rate below which a channel has fallen behind real time. */
const THRESHOLD = 0.95;
/** What AMS promised per streaming unit. */
const AMS_MBPS_PER_UNIT = 200;

const log = (line: string) => console.log(line);
const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  if (!['all', 'density', 'viewers'].includes(PART)) throw new Error(`BENCH_PART must be all, density or viewers; got ${JSON.stringify(PART)}`);
  const cores = os.cpus().length;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-capacity-'));
  const stop = () => fs.rmSync(scratch, { recursive: true, force: true });
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    log(`bench/capacity: ${cores} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average at start ${loadAverage()}`);
    const input = path.join(scratch, 'encoder-720p30-3mbps.flv');
    log('preparing the encoder stream: 60 s of testsrc2 1280x720 30 fps + 440 Hz sine, H.264 3 Mbit/s CBR (key frames every 2 s) + AAC 128k, FLV');
    await encodeTestStream(input, { width: 1280, height: 720, fps: 30, videoKbps: 3000, keyFrameIntervalSeconds: 2, seconds: 60 });

    let channels: number | undefined;
    if (PART !== 'viewers') {
      log(`\n(a) Default720p channels side by side: real-time pushes (ffmpeg -re, stream copy, looped), one channel more per step;`);
      log(`    a channel keeps real time when its 720p rendition's production rate over ${WINDOW_SECONDS} s is >= ${THRESHOLD}x`);
      const density = await measureDensity({ input, maxChannels: MAX_CHANNELS, windowSeconds: WINDOW_SECONDS, threshold: THRESHOLD, log });
      channels = density.channels;
      const last = density.steps[density.steps.length - 1];
      if (last?.keptUp) log(`    (every step kept up to BENCH_MAX_CHANNELS=${MAX_CHANNELS}: raise it to find the limit)`);
      log(`    => ${channels} Default720p channel(s) in real time on ${cores} cores: ${(channels / cores).toFixed(2)} per core`);
    }

    let viewers: { viewers: number; mbps: number; bitrate: number; targetDuration: number; coresPerGbps?: number } | undefined;
    if (PART !== 'density') {
      log(`\n(b) HLS viewers of one origin replica: each fetches the playlist and the newest segment of a 3 Mbit/s rendition once per target duration;`);
      log(`    bound: p99 latency of (playlist + segment), counted from when the fetch was due, <= one target duration, and no failed request; ${STEP_SECONDS} s per step`);
      const result = await measureViewers({ input, startViewers: VIEWERS_START, maxViewers: VIEWERS_MAX, stepSeconds: STEP_SECONDS, log });
      viewers = { viewers: result.viewers, mbps: result.megabitsPerSecond, bitrate: result.renditionBitsPerSecond, targetDuration: result.targetDurationSeconds, coresPerGbps: result.originCoresPerGbps };
      const bad = result.firstBad;
      if (!bad) log(`    (every step stayed within the bounds up to BENCH_VIEWERS_MAX=${VIEWERS_MAX}: the figure is a lower bound)`);
      log(`    => ${result.viewers} viewers per origin replica: ${result.megabitsPerSecond.toFixed(0)} Mbit/s on the live schedule (${result.measuredMegabitsPerSecond.toFixed(0)} Mbit/s measured)`);
      if (bad) {
        // One origin replica is one Node process: one core at most. The viewers need the other one.
        const limit = bad.originCores >= 0.9 ? 'the origin replica saturated its core (one Node process uses one core at most)'
          : bad.load.cores >= 0.9 ? 'the viewers\' process saturated its core first: the figure is a lower bound for the origin'
            : bad.machineBusy >= 0.9 ? 'the machine was busy: what the origin and viewers did not use went to the kernel (every byte is copied twice on loopback) and to other work on this shared machine'
              : `no process used a full core: on ${cores} shared cores the origin, its viewers and the kernel copying every byte over loopback compete, and latency rises before any one of them is at 100%`;
        log(`    past the bounds at ${bad.viewers} viewers: origin ${(bad.originCores * 100).toFixed(0)}% of a core, viewers ${(bad.load.cores * 100).toFixed(0)}% (their event loop's p99 delay ${bad.load.loopDelayP99Ms.toFixed(0)} ms), machine ${(bad.machineBusy * 100).toFixed(0)}% busy: ${limit}`);
      }
    }

    log('\nwhat it means (this machine; figures move with load, see the load averages above):');
    if (channels !== undefined) {
      log(`  - a host runs about ${(channels / cores).toFixed(2)} Default720p channel(s) per core (${channels} on this ${cores}-core machine);`);
      log(channels > 0
        ? `    an ingest workload transcoding Default720p needs about ${(cores / channels).toFixed(2)} cores (${Math.round((cores / channels) * 1000)} millicores) as its CPU request`
        : '    one Default720p channel does not keep real time here: this machine is too small for it');
    }
    if (viewers) {
      log(`  - one scale unit (one origin replica) serves about ${viewers.viewers} viewers of a ${(viewers.bitrate / 1e6).toFixed(1)} Mbit/s rendition = ${viewers.mbps.toFixed(0)} Mbit/s`);
      log(`    (AMS promised ${AMS_MBPS_PER_UNIT} Mbit/s per streaming unit: ${(viewers.mbps / AMS_MBPS_PER_UNIT).toFixed(1)}x that, over loopback; a real NIC caps a host first)`);
      log(`    scaleUnits for V viewers at B Mbit/s: ceil(V x B / ${viewers.mbps.toFixed(0)}), as long as the host's network carries it`);
      if (viewers.coresPerGbps !== undefined) {
        // The origin's CPU per Gbit/s hardly depends on what else the machine runs; the viewer count does.
        log(`  - the origin spent ${viewers.coresPerGbps.toFixed(3)} core per Gbit/s sent (at the most viewers within the bound): a replica with a core`);
        log(`    of its own would carry about ${(1 / viewers.coresPerGbps).toFixed(0)} Gbit/s; its CPU request: ${Math.round(viewers.coresPerGbps * 1000)} millicores per Gbit/s it should serve`);
      }
    }
    log(`load average at end ${loadAverage()}; reproduce with: npm run bench:capacity`);
    log(`RESULT channels_per_host=${channels ?? 'n/a'} viewers_per_origin=${viewers?.viewers ?? 'n/a'} mbps_per_origin=${viewers ? viewers.mbps.toFixed(0) : 'n/a'}` +
      ` origin_cores_per_gbps=${viewers?.coresPerGbps?.toFixed(3) ?? 'n/a'}`);
  } finally {
    stop();
  }
}

main().catch((error: Error) => {
  console.error(`bench/capacity failed: ${error.stack ?? error.message}`);
  process.exitCode = 1;
});
