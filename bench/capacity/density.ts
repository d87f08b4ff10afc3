/**
 * Part (a) of bench/capacity: how many Default720p channels this machine transcodes in real time side by
 * side. Channels are added one at a time to a running account (each a real ingest workload: nginx-rtmp
 * + the livestack transcoder, on the local driver, fed by its own real-time ffmpeg push); after each
 * addition every channel's production rate is measured over a window (see SegmentClock). The first
 * step where any channel produces less than `threshold` x real time is where the machine fell behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Encoding, EncodingPreset } from '../../constructs';
import { ingestHealth, storagePaths } from '../../lib/contract/storage-layout';
import { freePort } from '../support/manifest-fixtures';
import { LivePush, startLivePush } from '../support/live-push';
import { LocalStack, startLocalStack } from '../support/local-stack';
import { busySince, readMachineCpu } from '../support/machine-cpu';
import { CapacityChannel, capacityApp } from './app';
import { SegmentClock } from './segment-clock';

export interface DensityOptions {
  /** The encoder's stream (720p30 H.264 + AAC, FLV). */
  readonly input: string;
  readonly maxChannels: number;
  readonly windowSeconds: number;
  /** Production rate below which a channel has fallen behind real time. */
  readonly threshold: number;
  readonly log: (line: string) => void;
}

export interface DensityStep {
  readonly channels: number;
  /** Production rate of each channel over the window (x real time). */
  readonly rates: readonly number[];
  /** Input frame rate each transcoder reported (frames/s read), when it did. */
  readonly frameRates: readonly (number | undefined)[];
  /** Busy share of the whole machine during the window (0-1). */
  readonly machineBusy: number;
  readonly keptUp: boolean;
}

export interface DensityResult {
  readonly steps: readonly DensityStep[];
  /** Most channels that all kept up. */
  readonly channels: number;
}

/** The rendition whose production is measured: the top rung (the others come from the same ffmpeg). */
const MEASURED_RENDITION = '720p';
const POLL_MS = 200;

export async function measureDensity(options: DensityOptions): Promise<DensityResult> {
  const account = `cap${randomBytes(3).toString('hex')}`;
  const keyPort = await freePort();
  const streamKey = randomBytes(16).toString('hex');
  const channels: CapacityChannel[] = [];
  const pushes: LivePush[] = [];
  const steps: DensityStep[] = [];
  let stack: LocalStack | undefined;
  try {
    for (let n = 1; n <= options.maxChannels; n++) {
      channels.push({ name: `ch${n}`, port: await freePort(), encoding: Encoding.standard(EncodingPreset.default720p()) });
      const app = capacityApp({ account, keyPort, channels, streamKey });
      if (stack) await stack.apply(app.manifest);
      else stack = await startLocalStack(app.manifest);
      await stack.waitReady();
      const channel = channels[n - 1];
      pushes.push(startLivePush(options.input, `rtmp://127.0.0.1:${channel.port}/live/${streamKey}`));
      const storage = stack.storageDir(account);
      const clocks = channels.map((c) => new SegmentClock(storagePaths.renditionPlaylist(storage, app.assetOf(c.name), MEASURED_RENDITION)));

      // Warm-up: the new channel's first segments (its encoder connected, its transcoder running).
      const warmUpUntil = Date.now() + 60_000;
      let dropped = deadPush(pushes);
      while (clocks[n - 1].segments < 2 && !dropped) {
        if (Date.now() > warmUpUntil) throw new Error(`${channel.name} wrote no segment within 60 s of its push (push: ${pushes[n - 1].stderr() || 'running'})`);
        for (const clock of clocks) clock.poll();
        await sleep(POLL_MS);
        dropped = deadPush(pushes);
      }
      const started = Date.now();
      const cpu = readMachineCpu();
      while (Date.now() - started < options.windowSeconds * 1000 && !dropped) {
        for (const clock of clocks) clock.poll();
        await sleep(POLL_MS);
        dropped = deadPush(pushes);
      }
      const machineBusy = busySince(cpu);
      const rates = clocks.map((clock) => clock.rateSince(started) ?? 0);
      const frameRates = channels.map((c) => readFrameRate(storage, c.name));
      // An ingest that drops its encoder has fallen behind too (nginx-rtmp drops a publisher it cannot serve).
      const keptUp = !dropped && rates.every((r) => r >= options.threshold);
      const step: DensityStep = { channels: n, rates, frameRates, machineBusy, keptUp };
      steps.push(step);
      options.log(`  ${String(n).padStart(2)} channel(s): production ${rates.map((r) => `${r.toFixed(3)}x`).join(' ')}` +
        `  input fps ${frameRates.map((f) => (f === undefined ? '-' : f.toFixed(1))).join(' ')}` +
        `  machine busy ${(machineBusy * 100).toFixed(0)}%  load ${os.loadavg()[0].toFixed(2)}  ${keptUp ? 'real time' : `FELL BEHIND${dropped ? ` (${dropped})` : ''}`}`);
      if (!keptUp) break;
    }
  } finally {
    await Promise.all(pushes.map((p) => p.stop()));
    await stack?.stop();
  }
  const kept = steps.filter((s) => s.keptUp);
  return { steps, channels: kept.length ? kept[kept.length - 1].channels : 0 };
}

/** Why a push ended, if one did: ffmpeg pushes until stopped, so an end means the ingest dropped it. */
function deadPush(pushes: readonly LivePush[]): string | undefined {
  const dead = pushes.findIndex((p) => !p.running());
  return dead < 0 ? undefined : `the push to ch${dead + 1} ended: ${pushes[dead].stderr().trim() || 'no message'}`;
}

function readFrameRate(storage: string, channel: string): number | undefined {
  try {
    return ingestHealth.parse(JSON.parse(fs.readFileSync(storagePaths.channelHealth(storage, channel), 'utf8'))).inputFrameRate;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
