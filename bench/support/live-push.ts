/**
 * What a live encoder sends, for benchmarks: a test stream encoded once into a file (testsrc2 picture
 * and a sine tone, H.264 + AAC in FLV, as an encoder sends over RTMP), then pushed to an ingest in
 * real time (`-re`) by as many ffmpeg processes as there are channels. The pushes copy the encoded
 * stream (`-c copy`, looped), so they cost almost no CPU: the machine's cores go to what is measured,
 * as if the encoders ran elsewhere.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestStreamOptions {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Video bitrate, held constant (CBR with filler) so segment sizes are what the ladder promises. */
  readonly videoKbps: number;
  readonly keyFrameIntervalSeconds: number;
  readonly seconds: number;
}

/** Encodes the test stream into `file` (FLV). */
export async function encodeTestStream(file: string, options: TestStreamOptions): Promise<void> {
  const gop = String(options.fps * options.keyFrameIntervalSeconds);
  const rate = `${options.videoKbps}k`;
  await run('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${options.width}x${options.height}:rate=${options.fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(options.seconds),
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
    '-b:v', rate, '-minrate', rate, '-maxrate', rate, '-bufsize', rate, '-x264-params', 'nal-hrd=cbr:filler=1',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
    '-f', 'flv', file,
  ], { timeout: 10 * 60_000 });
}

export interface LivePush {
  readonly process: ChildProcess;
  /** True while ffmpeg runs. */
  running(): boolean;
  /** The end of what ffmpeg said (errors only). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Pushes `file` to `url` in real time, looped, until stopped. */
export function startLivePush(file: string, url: string): LivePush {
  const child = spawn('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', url,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exited = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  return {
    process: child,
    running: () => !exited,
    stderr: () => stderr,
    async stop() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
}
