/**
 * bench/requests: what one ingest and one origin replica cost on this machine, the figures behind the
 * default Kubernetes resource requests (lib/topology/resource-requests.ts).
 *
 * - Ingest: a real ingest workload (nginx-rtmp + ffmpeg, run by the controller and local driver as
 *   `livestack up` does) receives a real-time 1280x720 30 fps H.264 + AAC feed (a pre-encoded file
 *   pushed with `-re -c copy`, so the encoder costs next to nothing) for WARMUP + SECONDS seconds. The
 *   CPU of the workload's whole process tree over SECONDS after the warm-up, while the feed still runs
 *   (utime + stime from /proc), and its peak RSS (sum of VmRSS over the tree, sampled every second) are
 *   measured twice: with the
 *   Default720p ladder (x264 veryfast) and with passthrough (the base: nginx, supervisor, ffmpeg copy).
 *   The ladder's cost above the base is split over its rungs by pixel count: the cost per megapixel of
 *   a 30 fps rung.
 * - Origin: one replica serving the segments of a 720p/540p/360p asset to wrk (CONNECTIONS
 *   connections, SECONDS seconds): CPU per request and peak RSS under load.
 *
 *   npm run bench:requests          (BENCH_SECONDS=30 by default)
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Manifest } from '../../lib/model/manifest';
import { Encoding, EncodingPreset } from '../../lib/model/values/encoding';
import { storagePaths } from '../../lib/contract/storage-layout';
import { INGEST_COST, ORIGIN_COST } from '../../lib/topology/resource-requests';
import { startLocalStack } from '../support/local-stack';
import { testManifest } from '../support/manifest-fixtures';
import { clearPolicy } from '../support/origin-manifest';
import { startOriginStack } from '../support/origin-stack';
import { cpuSeconds, descendants } from '../origin/process-cpu';
import { wrk } from '../origin/wrk';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const WARMUP = 12;
/** The feed goes on this long after the window, so nothing ends inside it. */
const TAIL = 6;
const CONNECTIONS = 50;
const FPS = 30;

/** Resident memory (bytes) of `pid` and every process below it. */
function rssBytes(pid: number): number {
  let total = 0;
  for (const id of [pid, ...descendants(pid)]) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${id}/status`, 'utf8'));
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

interface Cost { readonly cores: number; readonly peakRssMiB: number }

/**
 * CPU over [fromMs, fromMs + SECONDS] and peak RSS in that window, sampled while `work` still runs: a
 * process that ends (the transcoder, when the feed stops) takes its CPU time with it.
 */
async function measureWindow(pid: number, work: Promise<unknown>, fromMs: number): Promise<Cost> {
  let done = false;
  const finished = work.finally(() => { done = true; });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await sleep(fromMs);
  const start = { cpu: cpuSeconds(pid), at: Date.now() };
  let peak = 0;
  while (Date.now() - start.at < SECONDS * 1000) {
    if (done) throw new Error('the run ended inside the measurement window');
    peak = Math.max(peak, rssBytes(pid));
    await sleep(1000);
  }
  const cores = (cpuSeconds(pid) - start.cpu) / ((Date.now() - start.at) / 1000);
  await finished;
  return { cores, peakRssMiB: peak / 1024 / 1024 };
}

async function ingestCost(feed: string, encoding: Manifest['accounts'][number]['channels'][number]['encoding']): Promise<Cost> {
  const base = await testManifest();
  const account = base.accounts[0];
  const manifest: Manifest = {
    ...base,
    accounts: [{ ...account, channels: account.channels.map((c) => ({ ...c, encoding, segmentDurationSeconds: 4 })) }],
  };
  const stack = await startLocalStack(manifest);
  try {
    await stack.waitReady();
    const spec = stack.specs.find((s) => s.role === 'ingest')!;
    const pid = stack.driver.processes(spec.name).workload;
    if (!pid) throw new Error('the ingest workload has no process');
    const key = fs.readFileSync(storagePaths.secret(stack.storageDir(account.name), 'news-key'), 'utf8').trim();
    const push = run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-re', '-i', feed, '-t', String(WARMUP + SECONDS + TAIL), '-c', 'copy', '-f', 'flv',
      `rtmp://127.0.0.1:${account.channels[0].port}/live/${key}`], { timeout: (WARMUP + SECONDS + TAIL + 30) * 1000 });
    return await measureWindow(pid, push, WARMUP * 1000);
  } finally {
    await stack.stop();
  }
}

async function originCost(scratch: string): Promise<Cost & { microsPerRequest: number; requestsPerSecond: number; idleRssMiB: number }> {
  const id = '6b1f0c7e-8d4a-4e2b-9f3c-1a2b3c4d5e6f';
  const stack = await startOriginStack({
    programs: [{ name: 'show', assetName: 'show' }],
    deliveryPolicies: [clearPolicy(['hls'])],
    locators: [{ name: 'clear', program: 'show', deliveryPolicy: 'clear', id }],
    assets: [{ asset: 'show', durationSeconds: 20, video: [
      { name: '720p', width: 1280, height: 720, bitrateKbps: 3000 },
      { name: '540p', width: 960, height: 540, bitrateKbps: 1800 },
      { name: '360p', width: 640, height: 360, bitrateKbps: 800 },
    ] }],
  });
  try {
    const spec = stack.local.specs.find((s) => s.role === 'origin')!;
    const pid = stack.local.driver.processes(spec.name).workload!;
    const idleRssMiB = rssBytes(pid) / 1024 / 1024;
    const assetDir = storagePaths.assetDir(stack.local.storageDir('acme'), 'show');
    const files = fs.readdirSync(assetDir, { recursive: true }).map(String).filter((f) => f.endsWith('.m4s')).sort();
    const requests = files.map((f) => ({ path: `/${id}/${f}` }));
    let result: Awaited<ReturnType<typeof wrk>> | undefined;
    const before = cpuSeconds(pid);
    const cost = await measureWindow(pid, wrk({ url: stack.url(''), requests, connections: CONNECTIONS, threads: 1, seconds: SECONDS + TAIL, scratch }).then((r) => { result = r; }), 0);
    const cpu = cpuSeconds(pid) - before;
    const total = result!.requestsPerSecond * (SECONDS + TAIL);
    return { ...cost, microsPerRequest: (cpu / total) * 1e6, requestsPerSecond: result!.requestsPerSecond, idleRssMiB };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-requests-'));
  try {
    console.log(`bench/requests: ${SECONDS}-s windows after ${WARMUP} s of warm-up; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)`);
    const feed = path.join(scratch, 'feed-720p30.flv');
    await run('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=${FPS}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(WARMUP + SECONDS + TAIL + 5), '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '4000k', '-g', String(FPS * 2), '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', feed]);

    const ladder = Encoding.standard(EncodingPreset.default720p()).toManifest();
    if (ladder.type !== 'standard') throw new Error('Default720p is a standard encoding');
    const passthrough = await ingestCost(feed, { type: 'passthrough' });
    console.log(`ingest passthrough:        ${(passthrough.cores * 1000).toFixed(0)} millicores, peak RSS ${passthrough.peakRssMiB.toFixed(0)} MiB`);
    const transcoding = await ingestCost(feed, ladder);
    const megapixels = ladder.ladder.reduce((sum, r) => sum + (r.width * r.height) / 1e6, 0);
    const perMegapixel = (transcoding.cores - passthrough.cores) / megapixels;
    const memoryPerMegapixel = (transcoding.peakRssMiB - passthrough.peakRssMiB) / megapixels;
    console.log(`ingest Default720p ladder: ${(transcoding.cores * 1000).toFixed(0)} millicores, peak RSS ${transcoding.peakRssMiB.toFixed(0)} MiB (${ladder.ladder.map((r) => r.name).join('/')}, ${megapixels.toFixed(2)} megapixels a frame at ${FPS} fps)`);
    console.log(`  per megapixel of a ${FPS} fps rung: ${(perMegapixel * 1000).toFixed(0)} millicores, ${memoryPerMegapixel.toFixed(0)} MiB`);

    const origin = await originCost(scratch);
    console.log(`origin replica under wrk (${CONNECTIONS} connections): ${origin.requestsPerSecond.toFixed(0)} requests/s, ${origin.microsPerRequest.toFixed(0)} µs CPU per request, peak RSS ${origin.peakRssMiB.toFixed(0)} MiB (idle ${origin.idleRssMiB.toFixed(0)} MiB)`);

    console.log('\nthe constants topology derives requests from (lib/topology/resource-requests.ts):');
    console.log(`  INGEST_COST ${JSON.stringify(INGEST_COST)}`);
    console.log(`  ORIGIN_COST ${JSON.stringify(ORIGIN_COST)}`);
    console.log(`RESULT ingest_base_millicores=${(passthrough.cores * 1000).toFixed(0)} ingest_base_rss_mib=${passthrough.peakRssMiB.toFixed(0)} ` +
      `ingest_720p_ladder_millicores=${(transcoding.cores * 1000).toFixed(0)} ingest_720p_ladder_rss_mib=${transcoding.peakRssMiB.toFixed(0)} ` +
      `rung_millicores_per_megapixel=${(perMegapixel * 1000).toFixed(0)} rung_rss_mib_per_megapixel=${memoryPerMegapixel.toFixed(0)} ` +
      `origin_us_per_request=${origin.microsPerRequest.toFixed(0)} origin_rss_mib=${origin.peakRssMiB.toFixed(0)}`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`bench/requests failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
