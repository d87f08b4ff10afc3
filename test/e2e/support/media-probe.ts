/**
 * What real players make of what the origin serves: ffmpeg decodes an input and hashes every decoded
 * frame (`-f framemd5`), so a test can say "every rendition decodes, and to exactly the stored
 * pictures and sound", and ffprobe tells whether a file is media at all.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { storagePaths } from '../../../lib/contract/storage-layout';

const run = promisify(execFile);
/** ffmpeg stuck on a live input may not heed SIGTERM: a timed-out run is killed outright. */
const KILL = 'SIGKILL';

export interface DecodeOptions {
  /** Stream specifiers, one output stream each, e.g. `0:p:0:v` (video of the first HLS variant). */
  readonly maps: readonly string[];
  /** Options placed before `-i` (demuxer options, `-headers`). */
  readonly inputArgs?: readonly string[];
  /** @default 60_000 */
  readonly timeoutMs?: number;
}

/** MD5 of each decoded frame, per output stream (in `maps` order). Rejects when ffmpeg fails. */
export async function decodedFrameDigests(input: string, options: DecodeOptions): Promise<string[][]> {
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error',
    ...(options.inputArgs ?? []),
    '-i', input,
    ...options.maps.flatMap((map) => ['-map', map]),
    '-f', 'framemd5', '-',
  ];
  const { stdout } = await run('ffmpeg', args, { timeout: options.timeoutMs ?? 60_000, killSignal: KILL, maxBuffer: 256 * 1024 * 1024 });
  const streams: string[][] = options.maps.map(() => []);
  for (const line of stdout.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(',').map((f) => f.trim());
    streams[Number(fields[0])]?.push(fields[fields.length - 1]);
  }
  return streams;
}

/** Whether ffprobe finds a decodable stream in `file` (and the error it gives otherwise). */
export async function probe(file: string): Promise<{ ok: boolean; streams: string[]; error: string }> {
  try {
    const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', file], { timeout: 20_000, killSignal: KILL });
    const streams = stdout.split('\n').filter(Boolean);
    return { ok: streams.length > 0 && stderr.trim() === '', streams, error: stderr.trim() };
  } catch (error) {
    return { ok: false, streams: [], error: (error as { stderr?: string }).stderr?.trim() || (error as Error).message };
  }
}

/** The streams ffprobe lists for an input (e.g. a live MPD), without decoding. */
export async function listStreams(input: string, inputArgs: readonly string[] = []): Promise<{ codecType: string; width?: number; height?: number }[]> {
  const { stdout } = await run('ffprobe', [
    '-v', 'error', ...inputArgs, '-show_entries', 'stream=codec_type,width,height', '-of', 'json', input,
  ], { timeout: 30_000, killSignal: KILL });
  const parsed = JSON.parse(stdout) as { streams: { codec_type: string; width?: number; height?: number }[] };
  return parsed.streams.map((s) => ({ codecType: s.codec_type, width: s.width, height: s.height }));
}

/** A live playlist that stops growing ends ffmpeg's read after a few reloads (from the window's start). */
export const LIVE_INPUT = ['-live_start_index', '0', '-m3u8_hold_counters', '3'];

/** What a stored rendition decodes to, read straight from the storage (no origin involved). */
export async function storedFrameDigests(storageDir: string, asset: string, rendition: string, inputArgs: readonly string[] = []): Promise<string[]> {
  const [frames] = await decodedFrameDigests(storagePaths.renditionPlaylist(storageDir, asset, rendition), { maps: ['0'], inputArgs });
  return frames;
}
