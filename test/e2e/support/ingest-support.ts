/**
 * Helpers of the ingest end-to-end suites: manifests with ingest channels on free loopback ports, real
 * ffmpeg encoders pushing RTMP, and readers of what the workload stored (asset playlists, descriptors,
 * health), with the checks real players would make (ffprobe, key frames, packet hashes).
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  ChannelManifest, Encoding, IngestProtocol, MANIFEST_API_VERSION, Manifest, ProgramManifest, SrtIngest,
} from '../../../lib/model/manifest';
import { srtStreamId } from '../../../lib/model/public-urls';
import { parseMediaPlaylist, StoredPlaylist } from '../../../lib/dataplane/media-playlist';
import { AssetDescriptor, assetDescriptor, IngestHealth, ingestHealth, storagePaths } from '../../../lib/contract/storage-layout';
import { freePort, freeUdpPort, testAccountBase, testEndpoint } from '../../../bench/support/manifest-fixtures';
import { LocalStack } from '../../../bench/support/local-stack';

const run = promisify(execFile);

/** A small ladder: cheap enough for tests on two shared cores. */
export const SMALL_LADDER: Encoding = {
  type: 'standard',
  preset: 'Custom',
  ladder: [
    { name: '180p', width: 320, height: 180, videoBitrateKbps: 300, profile: 'main' },
    { name: '90p', width: 160, height: 90, videoBitrateKbps: 120, profile: 'baseline' },
  ],
  audioBitrateKbps: 64,
  // Not ultrafast: x264 writes the lowest profile its features need, and ultrafast's are baseline's.
  speedPreset: 'superfast',
};

export interface ChannelOptions {
  readonly name: string;
  readonly encoding: Encoding;
  readonly streamKey: ChannelManifest['streamKey'];
  readonly ingestAllowList?: string[];
  readonly programs: Pick<ProgramManifest, 'name' | 'assetName' | 'state'>[];
  /** @default ['rtmp'] */
  readonly protocols?: IngestProtocol[];
  /** SRT settings besides the port (a free UDP port). @default the constructs' defaults: AES-128, 120 ms */
  readonly srt?: Partial<Omit<SrtIngest, 'port'>>;
}

export interface IngestManifestOptions {
  /** An origin (endpoint `web`) with a clear locator `watch` of the first channel's first program. */
  readonly origin?: boolean;
  /** What the locator serves. @default ['hls'] */
  readonly protocols?: ('hls' | 'dash')[];
  /** @default 1 */
  readonly segmentDurationSeconds?: number;
  /** @default 1 */
  readonly keyFrameIntervalSeconds?: number;
  /** Every program's archive window. @default 600 */
  readonly archiveWindowSeconds?: number;
}

/** One account with the given channels (1-s segments and key frames unless told) and, optionally, an origin serving the first program. */
export async function ingestManifest(channels: ChannelOptions[], options: IngestManifestOptions = {}): Promise<Manifest> {
  const account = `i${randomBytes(4).toString('hex')}`;
  const keyPort = await freePort();
  const originPort = await freePort();
  const first = channels[0];
  return {
    apiVersion: MANIFEST_API_VERSION,
    accounts: [{
      ...testAccountBase(account, keyPort),
      endpoints: options.origin ? [testEndpoint(account, originPort)] : [],
      channels: await Promise.all(channels.map(async (c) => ({
        name: c.name,
        path: `app/${account}/${c.name}`,
        protocols: c.protocols ?? ['rtmp' as const],
        port: await freePort(),
        ...((c.protocols ?? []).includes('srt') ? { srt: { port: await freeUdpPort(), keyLength: c.srt?.keyLength ?? 16, latencyMs: c.srt?.latencyMs ?? 120 } } : {}),
        streamKey: c.streamKey,
        ingestAllowList: c.ingestAllowList ?? [],
        previewAllowList: [],
        keyFrameIntervalSeconds: options.keyFrameIntervalSeconds ?? 1,
        segmentDurationSeconds: options.segmentDurationSeconds ?? 1,
        encoding: c.encoding,
        state: 'running' as const,
        programs: c.programs.map((p) => ({
          ...p, path: `app/${account}/${c.name}/${p.name}`, manifestName: 'index', archiveWindowSeconds: options.archiveWindowSeconds ?? 600,
        })),
      }))),
      keyPolicies: [],
      deliveryPolicies: options.origin ? [{ name: 'clear', path: `app/${account}/clear`, protocols: options.protocols ?? ['hls'], encryption: { type: 'none' } }] : [],
      locators: options.origin ? [{
        name: 'watch', path: `app/${account}/watch`, id: randomUUID(), channel: first.name, program: first.programs[0].name,
        endpoint: 'web', deliveryPolicy: 'clear',
      }] : [],
    }],
  };
}

/** The manifest with one program's declared state changed. */
export function withProgramState(manifest: Manifest, channel: string, program: string, state: 'running' | 'stopped'): Manifest {
  const copy = structuredClone(manifest);
  const target = copy.accounts[0].channels.find((c) => c.name === channel)!.programs.find((p) => p.name === program)!;
  target.state = state;
  return copy;
}

export function channelOf(manifest: Manifest, name: string): ChannelManifest {
  return manifest.accounts[0].channels.find((c) => c.name === name)!;
}

/** A running ffmpeg encoder; `done` resolves when it exits (never rejects). */
export interface Encoder {
  readonly process: ChildProcess;
  readonly done: Promise<{ code: number | null; stderr: string }>;
  stop(): void;
}

const encoders = new Set<Encoder>();

/**
 * Pushes `seconds` of a lavfi test picture and tone (or a file, stream-copied) to `url`, in real time:
 * FLV to an `rtmp://` URL, MPEG-TS to an `srt://` one.
 */
export function startEncoder(url: string, options: { seconds: number; file?: string; size?: string } = { seconds: 10 }): Encoder {
  const input = options.file
    ? ['-re', '-i', options.file, '-c', 'copy']
    : [
      '-re', '-f', 'lavfi', '-i', `testsrc2=size=${options.size ?? '320x180'}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-ac', '2',
    ];
  const format = url.startsWith('srt://') ? 'mpegts' : 'flv';
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...input, '-t', String(options.seconds), '-f', format, url], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const encoder: Encoder = {
    process: child,
    done: new Promise((resolve) => child.once('exit', (code) => {
      encoders.delete(encoder);
      resolve({ code, stderr });
    })),
    stop: () => {
      child.kill('SIGKILL');
    },
  };
  encoders.add(encoder);
  return encoder;
}

/** A suite's teardown: kills the encoders it did not wait for, stops its stack, removes its scratch folder. */
export async function tearDown(stack: LocalStack | undefined, scratch: string | undefined): Promise<void> {
  const left = [...encoders];
  for (const encoder of left) encoder.stop();
  await Promise.all(left.map((e) => e.done));
  await stack?.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
}

/**
 * Pushes with `push()` until `asset` has recorded three segments of `rendition` and its descriptor. An
 * encoder that finds no ingest listening (the runtime restarting a workload that could not bind at
 * its first start) exits at once: push again.
 */
export async function pushUntilRecording(
  stack: LocalStack, push: () => Encoder, where: { storage: string; asset: string; rendition: string }, timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const start = () => {
    const attempt = { exited: false };
    void push().done.then(() => { attempt.exited = true; });
    return attempt;
  };
  let pushing = start();
  while ((readPlaylist(where.storage, where.asset, where.rendition)?.segments.length ?? 0) < 3 || !readDescriptor(where.storage, where.asset)) {
    if (Date.now() > deadline) throw new Error(`no recording after ${timeoutMs / 1000} s; ingest log: ${await stack.logs(stack.specs.find((s) => s.role === 'ingest')!.name)}`);
    if (pushing.exited) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      pushing = start();
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function rtmpUrl(manifest: Manifest, channel: string, key: string): string {
  return `rtmp://127.0.0.1:${channelOf(manifest, channel).port}/live/${key}`;
}

/**
 * The URL an SRT encoder calls (`srt://127.0.0.1:PORT?streamid=...&passphrase=...`), by default with the
 * stream id livestack prints; `port` to go through a relay instead; `keyLength` for the encoder's AES
 * key length (ffmpeg sets none by default, and takes the channel's); `latencyMs` for the latency the
 * encoder asks for (its SRTO_PEERLATENCY); `lingerSeconds` to have the encoder send what it still
 * holds when it closes (ffmpeg's default in live mode, 0, discards it: the last frames).
 */
export function srtUrl(
  manifest: Manifest, channel: string, passphrase: string | undefined,
  options: { streamId?: string; port?: number; keyLength?: number; lingerSeconds?: number; latencyMs?: number } = {},
): string {
  const port = options.port ?? channelOf(manifest, channel).srt!.port;
  const query = [
    `streamid=${options.streamId ?? srtStreamId(channel)}`,
    ...(passphrase === undefined ? [] : [`passphrase=${passphrase}`]),
    ...(options.keyLength === undefined ? [] : [`pbkeylen=${options.keyLength}`]),
    ...(options.lingerSeconds === undefined ? [] : [`linger=${options.lingerSeconds}`]),
    // (ffmpeg's latency is in microseconds)
    ...(options.latencyMs === undefined ? [] : [`latency=${options.latencyMs * 1000}`]),
  ];
  return `srt://127.0.0.1:${port}?${query.join('&')}`;
}

export function readPlaylist(storage: string, asset: string, rendition: string): StoredPlaylist | undefined {
  const file = storagePaths.renditionPlaylist(storage, asset, rendition);
  try {
    return parseMediaPlaylist(fs.readFileSync(file, 'utf8'), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function readPlaylistText(storage: string, asset: string, rendition: string): string {
  return fs.readFileSync(storagePaths.renditionPlaylist(storage, asset, rendition), 'utf8');
}

export function readDescriptor(storage: string, asset: string): AssetDescriptor | undefined {
  try {
    return assetDescriptor.parse(JSON.parse(fs.readFileSync(storagePaths.assetDescriptor(storage, asset), 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function readHealth(storage: string, channel: string): IngestHealth | undefined {
  try {
    return ingestHealth.parse(JSON.parse(fs.readFileSync(storagePaths.channelHealth(storage, channel), 'utf8')));
  } catch {
    return undefined;
  }
}

/** Transcoder runs present in the channel area. */
export function runFolders(storage: string, channel: string): string[] {
  try {
    return fs.readdirSync(path.join(storagePaths.channelDir(storage, channel), 'runs'));
  } catch {
    return [];
  }
}

/** A rendition as a player reads it: init section + segments concatenated into one file (written next to `out`). */
export function joinRendition(storage: string, asset: string, rendition: string, out: string): string {
  const dir = storagePaths.renditionDir(storage, asset, rendition);
  const playlist = readPlaylist(storage, asset, rendition)!;
  const parts: Buffer[] = [];
  let map: string | undefined;
  for (const segment of playlist.segments) {
    if (segment.mapUri !== map) {
      map = segment.mapUri;
      parts.push(fs.readFileSync(path.join(dir, map!)));
    }
    parts.push(fs.readFileSync(path.join(dir, segment.uri)));
  }
  fs.writeFileSync(out, Buffer.concat(parts));
  return out;
}

/** Decodes every frame of a media file with ffprobe (a stored rendition joined by joinRendition); returns what it found. */
export async function probeDecoded(file: string): Promise<{ codecType: string; frames: number; width?: number; height?: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames,width,height', '-of', 'json', file], { timeout: 60_000 });
  const [stream] = (JSON.parse(stdout) as { streams: { codec_type: string; nb_read_frames: string; width?: number; height?: number }[] }).streams;
  return { codecType: stream.codec_type, frames: Number(stream.nb_read_frames), width: stream.width, height: stream.height };
}

/** Presentation times (seconds, 3 decimals) of the key frames in a media file. */
export async function keyFrameTimes(file: string): Promise<number[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file], { timeout: 60_000 });
  return stdout.split('\n').filter((l) => l.includes('K')).map((l) => Number(Number(l.split(',')[0]).toFixed(3)));
}

/** MD5 of every video packet, as stored (stream copy, no decode). */
export async function videoPacketHashes(file: string): Promise<string[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'framemd5', '-'], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(',').pop()!.trim());
}

/** Where `part` occurs in `whole` as a contiguous run, or -1. */
export function indexOfRun(whole: readonly string[], part: readonly string[]): number {
  for (let start = 0; start + part.length <= whole.length; start++) {
    if (part.every((value, i) => whole[start + i] === value)) return start;
  }
  return -1;
}

/** pid of the ffmpeg process writing into `runDir` (its argv names the folder, unique per stack and run). */
export async function transcoderPid(runDir: string): Promise<number | undefined> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args=']);
  const line = stdout.split('\n').find((l) => l.includes('ffmpeg') && l.includes(`${runDir}/%v/index.m3u8`));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}
