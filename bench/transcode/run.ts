/**
 * bench/transcode: the Default720p ladder (720p/540p/360p, x264 veryfast, AAC 128k) as livestack runs
 * it — the very arguments the ingest workload's builder gives ffmpeg (lib/dataplane/ingest/
 * transcode-args.ts), progress reporting included — against the equivalent ffmpeg command written by
 * hand, on the same 30-s 720p input (H.264 + AAC in FLV, what an encoder sends over RTMP). Both read
 * the file as fast as they can; speed = input seconds / wall seconds. Runs alternate; the figures are
 * medians. Targets (issue 3): ratio >= 0.95, ladder >= 1.5x real time on a 2-core machine.
 *
 *   npm run bench:transcode            (BENCH_RUNS=3 by default)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Encoding as EncodingValue, EncodingPreset } from '../../lib/model/values/encoding';
import { transcodeArgs } from '../../lib/dataplane/ingest/transcode-args';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const INPUT_SECONDS = 30;
const FPS = 30;
/** LiveChannel defaults: key frames every 2 s, 4-s segments. */
const KEY_FRAME_INTERVAL = 2;
const SEGMENT_SECONDS = 4;

const encoding = EncodingValue.standard(EncodingPreset.default720p()).toManifest();
if (encoding.type !== 'standard') throw new Error('Default720p is a standard encoding');

/** What an operator would type for the same ladder: same rungs, rate control, GOP and output. */
function byHandArgs(input: string, out: string): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'warning', '-i', input,
    '-filter_complex', '[0:v]split=3[a][b][c];[a]scale=1280:720[v0];[b]scale=960:540[v1];[c]scale=640:360[v2]',
    '-map', '[v0]', '-map', '[v1]', '-map', '[v2]', '-map', '0:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    '-profile:v:0', 'high', '-b:v:0', '3000k', '-maxrate:v:0', '3000k', '-bufsize:v:0', '6000k',
    '-profile:v:1', 'high', '-b:v:1', '1800k', '-maxrate:v:1', '1800k', '-bufsize:v:1', '3600k',
    '-profile:v:2', 'main', '-b:v:2', '800k', '-maxrate:v:2', '800k', '-bufsize:v:2', '1600k',
    '-g', String(FPS * KEY_FRAME_INTERVAL), '-keyint_min', String(FPS * KEY_FRAME_INTERVAL), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '128k',
    '-f', 'hls', '-hls_time', String(SEGMENT_SECONDS), '-hls_segment_type', 'fmp4',
    '-hls_segment_filename', path.join(out, '%v', 'seg-%d.m4s'),
    '-var_stream_map', 'v:0 v:1 v:2 a:0', path.join(out, '%v', 'index.m3u8'),
  ];
}

/** Runs ffmpeg to the end; resolves with wall seconds. stdout (progress) is drained as the workload does. */
function timeFfmpeg(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(Number(process.hrtime.bigint() - started) / 1e9);
      else reject(new Error(`ffmpeg exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

function segmentsIn(dir: string): number {
  return fs.readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.m4s')).length;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-transcode-'));
  try {
    const input = path.join(work, 'input-720p30.flv');
    console.log(`bench/transcode: preparing a ${INPUT_SECONDS}-s 1280x720 ${FPS} fps input (H.264 4 Mbit/s + AAC, FLV)`);
    await timeFfmpeg([
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=${FPS}`,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(INPUT_SECONDS),
      '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '4000k', '-g', String(FPS * 2), '-c:a', 'aac', '-b:a', '160k', '-ac', '2', '-f', 'flv', input,
    ]);
    console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores); ${RUNS} alternating runs each`);
    const livestack: number[] = [];
    const byHand: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const out = path.join(work, `livestack-${i}`);
      const seconds = await timeFfmpeg(transcodeArgs({
        input, encoding, keyFrameIntervalSeconds: KEY_FRAME_INTERVAL, segmentDurationSeconds: SEGMENT_SECONDS, outputDir: out, progress: true,
      }));
      livestack.push(INPUT_SECONDS / seconds);
      const handOut = path.join(work, `by-hand-${i}`);
      const handSeconds = await timeFfmpeg(byHandArgs(input, handOut));
      byHand.push(INPUT_SECONDS / handSeconds);
      console.log(`run ${i + 1}: livestack ${seconds.toFixed(2)} s (${livestack[i].toFixed(2)}x real time, ${segmentsIn(out)} segments)  by hand ${handSeconds.toFixed(2)} s (${byHand[i].toFixed(2)}x, ${segmentsIn(handOut)} segments)`);
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(handOut, { recursive: true, force: true });
    }
    const ladder = median(livestack);
    const hand = median(byHand);
    console.log(`median speed: livestack ${ladder.toFixed(2)}x real time, by hand ${hand.toFixed(2)}x; load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`livestack's command: ffmpeg ${transcodeArgs({ input: 'INPUT', encoding, keyFrameIntervalSeconds: KEY_FRAME_INTERVAL, segmentDurationSeconds: SEGMENT_SECONDS, outputDir: 'OUT', progress: true }).join(' ')}`);
    console.log(`by hand:            ffmpeg ${byHandArgs('INPUT', 'OUT').join(' ')}`);
    console.log(`RESULT transcode_ratio=${(ladder / hand).toFixed(3)} ladder_speed=${ladder.toFixed(2)}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`bench/transcode failed: ${error.message}`);
  process.exit(1);
});
