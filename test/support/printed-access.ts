/**
 * What a user does with the where-to-push and where-to-play lines `livestack apply` and `status`
 * print: read the ingest URL and the stream key command, fetch the key with that command, push a test
 * stream to the URL, and play the printed HLS URL with ffmpeg.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from '../runtime/support/eventually';
import { CliResult, expectExit, livestack } from './cli';

const run = promisify(execFile);

export interface PrintedAccess {
  readonly rtmpUrl: string;
  /** `npx livestack key show ...` as printed, split into livestack's arguments. */
  readonly keyCommand: string[];
  readonly keyFile?: string;
  readonly hls?: string;
  readonly dash?: string;
}

/** The first channel's and the first locator's lines; fails naming what is missing. */
export function parsePrinted(text: string): PrintedAccess {
  const rtmpUrl = /RTMP ingest URL: (rtmp:\/\/\S+)/.exec(text)?.[1];
  const command = /stream key command: npx livestack (key show .+)$/m.exec(text)?.[1];
  if (!rtmpUrl || !command) throw new Error(`no ingest URL or stream key command in:\n${text}`);
  return {
    rtmpUrl,
    keyCommand: command.trim().split(/\s+/),
    keyFile: /stream key file: (\S+)/.exec(text)?.[1],
    hls: /HLS: (http\S+\.m3u8)/.exec(text)?.[1],
    dash: /DASH: (http\S+\.mpd)/.exec(text)?.[1],
  };
}

/** The key as `livestack key show` prints it (its only output). */
export async function keyAsPrinted(printed: PrintedAccess): Promise<{ key: string; result: CliResult }> {
  const result = await livestack(printed.keyCommand, { timeoutMs: 60_000 });
  expectExit(result, 0);
  return { key: result.stdout.trim(), result };
}

/** Pushes a test stream to the printed ingest URL while playing the printed HLS URL; returns the video frames decoded. */
export async function pushAndPlay(rtmpUrl: string, key: string, hls: string): Promise<number> {
  const encoder = pushTestStream(rtmpUrl, key, 40);
  try {
    return await playPrinted(hls);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nencoder: ${encoder.errors()}`);
  } finally {
    encoder.process.kill('SIGKILL');
  }
}

/** A test stream (video and audio) pushed to `url/key` for `seconds`. */
export function pushTestStream(rtmpUrl: string, key: string, seconds: number): { process: ChildProcess; errors: () => string } {
  const encoder = spawn('ffmpeg', [
    '-hide_banner', '-v', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'flv', `${rtmpUrl}/${key}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  encoder.stderr!.on('data', (chunk: Buffer) => { errors += chunk.toString(); });
  return { process: encoder, errors: () => errors };
}

/** Waits until the master playlist at `hls` leads to segments, then decodes 2 s of it; returns the video frames decoded. */
export async function playPrinted(hls: string, timeoutMs = 90_000): Promise<number> {
  await eventually(`segments behind ${hls.replace(/[0-9a-f-]{36}/, '<id>')}`, async () => {
    const response = await fetch(hls, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
    if (!response?.ok) return undefined;
    const media = (await response.text()).split('\n').find((l) => l !== '' && !l.startsWith('#'));
    if (!media) return undefined;
    const playlist = await (await fetch(new URL(media, hls), { signal: AbortSignal.timeout(3_000) })).text();
    return playlist.includes('#EXTINF') ? true : undefined;
  }, timeoutMs, 500);
  const played = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', hls, '-map', '0:v:0', '-t', '2', '-f', 'framecrc', '-'], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return played.stdout.split('\n').filter((l) => /^0,/.test(l)).length;
}
