/**
 * Part (b) of bench/capacity: how many HLS viewers one origin replica serves on the live schedule
 * before its p99 latency passes one target duration.
 *
 * - The origin is real and serves real live segments: an account with one streaming endpoint of one
 *   scale unit (one origin replica, no balancer) publishing a channel that stores the encoder's own
 *   3 Mbps 720p stream (passthrough: no transcoding, so the cores go to the origin and the viewers),
 *   fed by a real-time ffmpeg push; both run on the real controller and local driver.
 * - The viewers (viewer-load.ts, a process of their own) each fetch the media playlist and the newest
 *   segment once per target duration, on a fixed schedule, like players at the live edge; a fetch's
 *   latency counts from when it was due to its last byte, so a server falling behind shows as latency.
 * - Viewers double each step until the p99 of that latency passes one target duration (or a request
 *   fails); one more step halfway between the last good and the first bad count narrows it down.
 */
import * as os from 'node:os';
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Encoding } from '../../constructs';
import { parseMediaPlaylist } from '../../lib/dataplane/media-playlist';
import { freePort } from '../support/manifest-fixtures';
import { LivePush, startLivePush } from '../support/live-push';
import { LocalStack, startLocalStack } from '../support/local-stack';
import { busySince, readMachineCpu } from '../support/machine-cpu';
import { cpuSeconds } from '../origin/process-cpu';
import { capacityApp } from './app';
import { ViewerLoadConfig, ViewerLoadResult } from './viewer-load';

export interface ViewerOptions {
  /** The encoder's stream: 720p30, constant 3 Mbps video + AAC, FLV. */
  readonly input: string;
  readonly startViewers: number;
  readonly maxViewers: number;
  readonly stepSeconds: number;
  readonly log: (line: string) => void;
}

export interface ViewerStep {
  readonly viewers: number;
  readonly load: ViewerLoadResult;
  /** CPU of the origin replica during the step, in cores (1.0 = one core busy). */
  readonly originCores: number;
  /** Busy share of the whole machine during the step (0-1). */
  readonly machineBusy: number;
  readonly ok: boolean;
}

export interface ViewerResult {
  readonly steps: readonly ViewerStep[];
  readonly targetDurationSeconds: number;
  /** Bits per second of the rendition the viewers fetch, measured from its segments. */
  readonly renditionBitsPerSecond: number;
  /** Most viewers served within the bounds. */
  readonly viewers: number;
  /** What those viewers take on the live schedule: viewers x the rendition's bitrate. */
  readonly megabitsPerSecond: number;
  /** What the viewers received during that step. */
  readonly measuredMegabitsPerSecond: number;
  /** CPU of the origin per Gbit/s it sent, at the most viewers within the bound. */
  readonly originCoresPerGbps?: number;
  /** The first step past the bound, if one was: what limited it shows in its CPU figures. */
  readonly firstBad?: ViewerStep;
}

/** The passthrough channel's one video rendition. */
const RENDITION = 'source';

export async function measureViewers(options: ViewerOptions): Promise<ViewerResult> {
  const account = `cap${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const streamKey = randomBytes(16).toString('hex');
  const app = capacityApp({
    streamKey,
    account,
    keyPort: await freePort(),
    channels: [{ name: 'live', port: await freePort(), encoding: Encoding.passthrough() }],
    endpoint: { port, scaleUnits: 1 },
  });
  const base = `http://127.0.0.1:${port}`;
  const playlistPath = `/${app.locatorId}/${RENDITION}/index.m3u8`;
  let stack: LocalStack | undefined;
  let push: LivePush | undefined;
  try {
    stack = await startLocalStack(app.manifest);
    await stack.waitReady();
    push = startLivePush(options.input, `rtmp://127.0.0.1:${app.manifest.accounts[0].channels[0].port}/live/${streamKey}`);
    const origin = stack.specs.find((spec) => spec.role === 'origin');
    const originPid = origin && stack.driver.processes(origin.name).workload;
    if (!originPid) throw new Error('the origin replica has no running process');

    // The live edge, as the origin serves it: 3 segments listed before any viewer comes.
    const edge = await waitForSegments(base + playlistPath, 3, 60_000, push);
    const segmentUrl = (uri: string) => path.posix.join(path.posix.dirname(playlistPath), uri);
    const renditionBitsPerSecond = await measureBitrate(base, edge.segments.slice(-3).map((s) => ({ path: segmentUrl(s.uri), seconds: s.durationSeconds })));
    const targetDurationSeconds = edge.targetDurationSeconds;
    options.log(`  origin: one replica on ${base}; rendition ${RENDITION} ${(renditionBitsPerSecond / 1e6).toFixed(2)} Mbit/s, target duration ${targetDurationSeconds} s`);

    const steps: ViewerStep[] = [];
    const step = async (viewers: number): Promise<ViewerStep> => {
      if (!push!.running()) throw new Error(`the push ended: ${push!.stderr() || 'no message'}`);
      const originBefore = cpuSeconds(originPid);
      const machineBefore = readMachineCpu();
      const started = process.hrtime.bigint();
      const load = await runLoadProcess({
        host: '127.0.0.1', port, playlistPath, viewers, seconds: options.stepSeconds, targetDurationMs: targetDurationSeconds * 1000,
      });
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      const measured: ViewerStep = {
        viewers,
        load,
        originCores: (cpuSeconds(originPid) - originBefore) / wall,
        machineBusy: busySince(machineBefore),
        ok: load.errors === 0 && load.p99Ms <= targetDurationSeconds * 1000,
      };
      steps.push(measured);
      options.log(`  ${String(viewers).padStart(6)} viewers: ${String(load.completed).padStart(6)}/${String(load.due).padEnd(6)} fetches  ` +
        `${load.megabitsPerSecond.toFixed(0).padStart(6)} Mbit/s  p50 ${load.p50Ms.toFixed(0).padStart(5)} ms  p99 ${load.p99Ms.toFixed(0).padStart(5)} ms  ` +
        `errors ${load.errors}${load.errorSamples.length ? ` (${load.errorSamples[0]})` : ''}${load.trackingFailures ? `  playlist refreshes failed ${load.trackingFailures}` : ''}  origin CPU ${(measured.originCores * 100).toFixed(0)}%  ` +
        `viewers' CPU ${(load.cores * 100).toFixed(0)}%  machine busy ${(measured.machineBusy * 100).toFixed(0)}%  ` +
        `load ${os.loadavg()[0].toFixed(2)}  ${measured.ok ? 'ok' : 'PAST THE BOUND'}`);
      await sleep(2_000); // connections closed, origin idle again
      return measured;
    };

    let good: ViewerStep | undefined;
    let bad: ViewerStep | undefined;
    for (let viewers = options.startViewers; viewers <= options.maxViewers; viewers *= 2) {
      const measured = await step(viewers);
      if (!measured.ok) {
        bad = measured;
        break;
      }
      good = measured;
    }
    if (good && bad) {
      const middle = Math.round((good.viewers + bad.viewers) / 2 / 50) * 50;
      if (middle > good.viewers && middle < bad.viewers) {
        const measured = await step(middle);
        if (measured.ok) good = measured;
      }
    }
    return {
      steps,
      targetDurationSeconds,
      renditionBitsPerSecond,
      viewers: good?.viewers ?? 0,
      megabitsPerSecond: good ? (good.viewers * renditionBitsPerSecond) / 1e6 : 0,
      measuredMegabitsPerSecond: good ? good.load.megabitsPerSecond : 0,
      originCoresPerGbps: good && good.load.megabitsPerSecond > 0 ? good.originCores / (good.load.megabitsPerSecond / 1000) : undefined,
      firstBad: steps.find((st) => !st.ok),
    };
  } finally {
    await push?.stop();
    await stack?.stop();
  }
}

/** One step's viewers, in a process of their own (viewer-load.ts). */
function runLoadProcess(config: ViewerLoadConfig): Promise<ViewerLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'viewer-load.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answered = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), (config.seconds + 60) * 1000);
    child.once('message', (message: { result?: ViewerLoadResult; error?: string }) => {
      answered = true;
      if (message.result) resolve(message.result);
      else reject(new Error(`the viewers failed: ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!answered) reject(new Error(`the viewers' process ended (${signal ?? `exit ${code}`}) without a result`));
    });
    child.send(config);
  });
}

async function fetchPlaylist(url: string): Promise<ReturnType<typeof parseMediaPlaylist> | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return undefined;
    return parseMediaPlaylist(await response.text(), url);
  } catch {
    return undefined;
  }
}

async function waitForSegments(url: string, count: number, timeoutMs: number, push: LivePush): Promise<ReturnType<typeof parseMediaPlaylist>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const playlist = await fetchPlaylist(url);
    if (playlist && playlist.segments.length >= count) return playlist;
    if (!push.running()) throw new Error(`the push ended before the origin listed ${count} segments: ${push.stderr() || 'no message'}`);
    if (Date.now() > deadline) throw new Error(`${url} did not list ${count} segments within ${timeoutMs} ms`);
    await sleep(500);
  }
}

/** Bits per second of the given segments as the origin serves them (bytes x 8 / media seconds). */
async function measureBitrate(base: string, segments: readonly { path: string; seconds: number }[]): Promise<number> {
  let bytes = 0;
  let seconds = 0;
  for (const segment of segments) {
    const response = await fetch(base + segment.path);
    if (!response.ok) throw new Error(`GET ${segment.path} answered ${response.status}`);
    bytes += (await response.arrayBuffer()).byteLength;
    seconds += segment.seconds;
  }
  return (bytes * 8) / seconds;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
