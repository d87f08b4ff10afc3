/**
 * Test assets made by real ffmpeg, written straight into the storage layout the origin reads
 * (lib/dataplane/storage-layout.ts): lavfi testsrc2 + sine, H.264 video renditions (video only) and
 * one AAC audio rendition, fMP4 HLS with EXT-X-MAP and PROGRAM-DATE-TIME, then asset.json.
 * A `recording` asset is the same files without EXT-X-ENDLIST and with program date times ending now
 * (what a running program's playlist looks like: its newest segment was just written).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AssetDescriptor, StoredRendition, storagePaths } from '../../lib/contract/storage-layout';

const run = promisify(execFile);

export interface FixtureVideo {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly bitrateKbps: number;
}

export interface AssetFixtureOptions {
  readonly storageDir: string;
  readonly asset: string;
  readonly channel?: string;
  readonly program?: string;
  /** @default 10 */
  readonly durationSeconds?: number;
  /** @default 2 */
  readonly segmentSeconds?: number;
  /** @default 'stopped' */
  readonly state?: 'stopped' | 'recording';
  /** @default 300 */
  readonly archiveWindowSeconds?: number;
  /** @default two renditions: 320x180 and 160x90 */
  readonly video?: readonly FixtureVideo[];
  /** Name of the audio rendition. @default 'audio' */
  readonly audio?: string;
  /** Frames per second of the video renditions. @default 25 */
  readonly fps?: number;
  /** x264 speed preset (bigger, more realistic segments need a slower one). @default 'ultrafast' */
  readonly x264Preset?: string;
}

export const DEFAULT_VIDEO: readonly FixtureVideo[] = [
  { name: 'r180', width: 320, height: 180, bitrateKbps: 300 },
  { name: 'r90', width: 160, height: 90, bitrateKbps: 120 },
];

const DEFAULT_FPS = 25;

/** Encodes the asset with ffmpeg and writes its descriptor; returns the descriptor. */
export async function createAssetFixture(options: AssetFixtureOptions): Promise<AssetDescriptor> {
  const video = options.video ?? DEFAULT_VIDEO;
  const audio = options.audio ?? 'audio';
  const duration = options.durationSeconds ?? 10;
  const segment = options.segmentSeconds ?? 2;
  const fps = options.fps ?? DEFAULT_FPS;
  const assetDir = storagePaths.assetDir(options.storageDir, options.asset);
  fs.mkdirSync(assetDir, { recursive: true });
  const split = video.map((_v, i) => `[s${i}]`).join('');
  const scales = video.map((v, i) => `[s${i}]scale=${v.width}:${v.height}[v${i}]`).join(';');
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${video[0].width}x${video[0].height}:rate=${fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(duration),
    '-filter_complex', `[0:v]split=${video.length}${split};${scales}`,
    ...video.flatMap((_v, i) => ['-map', `[v${i}]`]),
    '-map', '1:a',
    '-c:v', 'libx264', '-preset', options.x264Preset ?? 'ultrafast', '-pix_fmt', 'yuv420p',
    '-g', String(fps * segment), '-keyint_min', String(fps * segment), '-sc_threshold', '0',
    ...video.flatMap((v, i) => [`-b:v:${i}`, `${v.bitrateKbps}k`]),
    '-c:a', 'aac', '-b:a', '64k', '-ac', '2',
    '-f', 'hls', '-hls_time', String(segment), '-hls_playlist_type', 'vod',
    '-hls_segment_type', 'fmp4', '-hls_flags', 'program_date_time+independent_segments',
    '-hls_fmp4_init_filename', 'init.mp4',
    '-hls_segment_filename', path.join(assetDir, '%v', 'seg-%05d.m4s'),
    '-var_stream_map', [...video.map((v, i) => `v:${i},name:${v.name}`), `a:0,name:${audio}`].join(' '),
    path.join(assetDir, '%v', 'index.m3u8'),
  ];
  await run('ffmpeg', args, { timeout: 120_000, killSignal: 'SIGKILL' });

  const state = options.state ?? 'stopped';
  const renditions: StoredRendition[] = [];
  for (const v of video) {
    renditions.push({
      name: v.name,
      type: 'video',
      ...measure(assetDir, v.name),
      codecs: avcCodec(assetDir, v.name),
      width: v.width,
      height: v.height,
      frameRate: fps,
    });
  }
  renditions.push({ name: audio, type: 'audio', ...measure(assetDir, audio), codecs: 'mp4a.40.2', sampleRate: 48000, channels: 2 });
  const startedAtMs = Date.now() - duration * 1000;
  if (state === 'recording') {
    for (const r of renditions) asLiveRecording(storagePaths.renditionPlaylist(options.storageDir, options.asset, r.name), startedAtMs);
  }
  const now = new Date().toISOString();
  const descriptor: AssetDescriptor = {
    version: 1,
    asset: options.asset,
    channel: options.channel ?? 'news',
    program: options.program ?? 'main',
    state,
    archiveWindowSeconds: options.archiveWindowSeconds ?? 300,
    segmentDurationSeconds: segment,
    container: 'fmp4',
    renditions,
    startedAt: new Date(startedAtMs).toISOString(),
    stoppedAt: state === 'stopped' ? now : undefined,
    updatedAt: now,
  };
  fs.writeFileSync(storagePaths.assetDescriptor(options.storageDir, options.asset), JSON.stringify(descriptor, null, 2));
  return descriptor;
}

/**
 * Turns a finished playlist into one still being recorded: no end tag, and program date times that
 * run from `startedAtMs` (ffmpeg stamps the wall clock of a faster-than-real-time encode instead).
 */
function asLiveRecording(file: string, startedAtMs: number): void {
  let elapsedMs = 0;
  const lines: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '#EXT-X-ENDLIST' || line.startsWith('#EXT-X-PLAYLIST-TYPE')) continue;
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(startedAtMs + elapsedMs).toISOString()}`);
    else lines.push(line);
    if (line.startsWith('#EXTINF:')) elapsedMs += Number.parseFloat(line.slice(8)) * 1000;
  }
  fs.writeFileSync(file, lines.join('\n'));
}

/** Peak and average bits per second over the rendition's segments. */
function measure(assetDir: string, rendition: string): { bandwidth: number; averageBandwidth: number } {
  const lines = fs.readFileSync(path.join(assetDir, rendition, 'index.m3u8'), 'utf8').split('\n');
  let peak = 0;
  let bits = 0;
  let seconds = 0;
  let duration = 0;
  for (const line of lines) {
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) {
      const size = fs.statSync(path.join(assetDir, rendition, line)).size * 8;
      peak = Math.max(peak, size / duration);
      bits += size;
      seconds += duration;
    }
  }
  return { bandwidth: Math.ceil(peak), averageBandwidth: Math.ceil(bits / seconds) };
}

/** RFC 6381 codec string from the init section's avcC box: `avc1.` + profile, constraints, level. */
function avcCodec(assetDir: string, rendition: string): string {
  const init = fs.readdirSync(path.join(assetDir, rendition)).find((f) => f.startsWith('init'));
  if (!init) throw new Error(`asset fixture: ffmpeg wrote no init section for ${rendition}`);
  const bytes = fs.readFileSync(path.join(assetDir, rendition, init));
  const at = bytes.indexOf('avcC');
  if (at < 0) throw new Error(`asset fixture: no avcC box in ${rendition}/${init}`);
  return `avc1.${bytes.subarray(at + 5, at + 8).toString('hex')}`;
}
