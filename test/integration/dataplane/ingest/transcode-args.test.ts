/**
 * The transcoder's ffmpeg command, run for real on a small file: the folders the workload reads, key
 * frames aligned across renditions at the key frame interval, and the codec facts read from the
 * init sections agreeing with ffprobe.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Encoding } from '../../../../lib/model/manifest';
import { fragmentSampleCount, initFacts } from '../../../../lib/dataplane/mp4/cmaf-facts';
import { parseMediaPlaylist } from '../../../../lib/dataplane/media-playlist';
import { renditionPlan, transcodeArgs } from '../../../../lib/dataplane/ingest/transcode-args';

const run = promisify(execFile);

const LADDER: Encoding = {
  type: 'standard',
  preset: 'Custom',
  ladder: [
    { name: '180p', width: 320, height: 180, videoBitrateKbps: 300, profile: 'high' },
    { name: '90p', width: 160, height: 90, videoBitrateKbps: 100, profile: 'baseline' },
  ],
  audioBitrateKbps: 64,
  // Not ultrafast: x264 writes the lowest profile the features it used need, and ultrafast uses baseline's.
  speedPreset: 'veryfast',
};

/** profile_idc of the H.264 profiles ffprobe names. */
const PROFILE_IDC: Record<string, number> = { 'Constrained Baseline': 0x42, Baseline: 0x42, Main: 0x4d, High: 0x64 };

let dir: string;
let input: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-args-'));
  input = path.join(dir, 'input.flv');
  // What an encoder sends over RTMP: H.264 + AAC in FLV, 25 fps, a key frame every 2 s.
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '5', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'aac', '-ac', '2', '-f', 'flv', input,
  ], { timeout: 60_000 });
}, 60_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function transcode(encoding: Encoding, name: string): Promise<string> {
  const outputDir = path.join(dir, name);
  await run('ffmpeg', transcodeArgs({ input, encoding, keyFrameIntervalSeconds: 1, segmentDurationSeconds: 2, outputDir }), { timeout: 60_000 });
  return outputDir;
}

/** A rendition as a player reads it: init section + segments, in one file. */
function joined(renditionDir: string): string {
  const playlist = parseMediaPlaylist(fs.readFileSync(path.join(renditionDir, 'index.m3u8'), 'utf8'), renditionDir);
  const file = path.join(renditionDir, 'joined.mp4');
  fs.writeFileSync(file, Buffer.concat([playlist.segments[0].mapUri!, ...playlist.segments.map((s) => s.uri)].map((f) => fs.readFileSync(path.join(renditionDir, f)))));
  return file;
}

function firstInit(renditionDir: string): Buffer {
  const playlist = parseMediaPlaylist(fs.readFileSync(path.join(renditionDir, 'index.m3u8'), 'utf8'), renditionDir);
  return fs.readFileSync(path.join(renditionDir, playlist.segments[0].mapUri!));
}

/** Key frame times (seconds) of a rendition. */
async function keyFrameTimes(renditionDir: string): Promise<number[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', joined(renditionDir)]);
  return stdout.split('\n').filter((l) => l.includes('K')).map((l) => Number(l.split(',')[0]));
}

describe('transcodeArgs', () => {
  it('writes one folder per rendition with a playlist, an init section and segments', async () => {
    const out = await transcode(LADDER, 'standard');

    for (const rendition of renditionPlan(LADDER)) {
      const files = fs.readdirSync(path.join(out, rendition.name));
      const playlist = parseMediaPlaylist(fs.readFileSync(path.join(out, rendition.name, 'index.m3u8'), 'utf8'), rendition.name);
      expect(playlist.segments.length).toBeGreaterThanOrEqual(2);
      expect(files).toEqual(expect.arrayContaining([playlist.segments[0].mapUri, ...playlist.segments.map((s) => s.uri)]));
    }
  }, 60_000);

  it('aligns key frames across renditions at the key frame interval, with none in between', async () => {
    const out = path.join(dir, 'standard');
    const [high, low] = await Promise.all(['180p', '90p'].map((r) => keyFrameTimes(path.join(out, r))));

    expect(high.length).toBeGreaterThanOrEqual(4);
    expect(low).toEqual(high);
    const spacing = high.slice(1).map((t, i) => Number((t - high[i]).toFixed(3)));
    expect(new Set(spacing)).toEqual(new Set([1]));
  }, 60_000);

  it('reads codec strings, sizes and audio format from init sections as ffprobe sees them', async () => {
    const out = path.join(dir, 'standard');
    const probe = async (r: string) => {
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=profile,level,width,height', '-of', 'json', joined(path.join(out, r))]);
      return (JSON.parse(stdout) as { streams: { profile: string; level: number; width: number; height: number }[] }).streams[0];
    };

    for (const [rendition, profile] of [['180p', 'High'], ['90p', 'Constrained Baseline']]) {
      const facts = initFacts(firstInit(path.join(out, rendition)), rendition);
      const probed = await probe(rendition);
      expect(probed.profile).toBe(profile);
      expect(facts).toMatchObject({ type: 'video', width: probed.width, height: probed.height });
      // avc1.PPCCLL (RFC 6381): profile_idc, constraint flags, level_idc, in hex.
      expect(facts.codecs.slice(0, 7)).toBe(`avc1.${PROFILE_IDC[profile].toString(16)}`);
      expect(facts.codecs.slice(9)).toBe(probed.level.toString(16).padStart(2, '0'));
    }
    expect(initFacts(firstInit(path.join(out, 'audio')), 'audio')).toEqual({ type: 'audio', codecs: 'mp4a.40.2', sampleRate: 48000, channels: 2 });
  }, 60_000);

  it('counts the frames of a segment (for the frame rate)', () => {
    const out = path.join(dir, 'standard', '180p');
    const playlist = parseMediaPlaylist(fs.readFileSync(path.join(out, 'index.m3u8'), 'utf8'), out);
    const first = playlist.segments[0];

    expect(fragmentSampleCount(fs.readFileSync(path.join(out, first.uri))) / first.durationSeconds).toBeCloseTo(25, 5);
  });

  it('passthrough stores the encoder\'s video packets unchanged', async () => {
    const out = await transcode({ type: 'passthrough' }, 'passthrough');
    const hashes = async (file: string) => {
      const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-c', 'copy', '-f', 'framemd5', '-']);
      return stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').pop()!.trim());
    };

    const [source, stored] = await Promise.all([hashes(input), hashes(joined(path.join(out, 'source')))]);
    expect(stored.length).toBe(125);
    expect(stored).toEqual(source);
  }, 60_000);

  it('passthrough of MPEG-TS (what an SRT publisher sends, AAC with ADTS headers) stores every frame and playable sound', async () => {
    // GIVEN the same content in MPEG-TS, read from a pipe as the workload reads an SRT session
    const ts = path.join(dir, 'input.ts');
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', input, '-c', 'copy', '-f', 'mpegts', ts], { timeout: 60_000 });
    const outputDir = path.join(dir, 'passthrough-ts');
    await run('sh', ['-c', 'exec ffmpeg "$@" < "$0"', ts, ...transcodeArgs({ input: 'pipe:0', inputFormat: 'mpegts', encoding: { type: 'passthrough' }, keyFrameIntervalSeconds: 1, segmentDurationSeconds: 2, outputDir })], { timeout: 60_000 });

    const probe = async (rendition: string) => {
      const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'csv=p=0', joined(path.join(outputDir, rendition))]);
      return { stdout: stdout.trim(), stderr };
    };
    expect(await probe('source')).toEqual({ stdout: 'h264,125', stderr: '' });
    const audio = await probe('audio');
    expect(audio.stderr).toBe('');
    expect(audio.stdout).toMatch(/^aac,2\d\d$/);
  }, 60_000);

  it('low-latency passthrough of an MPEG-TS pipe stores every frame, the first ones the probe read included (no -fflags nobuffer there)', async () => {
    // GIVEN the same content in MPEG-TS, piped as an SRT session is, into a low-latency (chunked CMAF) run
    const ts = path.join(dir, 'input-low.ts');
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', input, '-c', 'copy', '-f', 'mpegts', ts], { timeout: 60_000 });
    const outputDir = path.join(dir, 'passthrough-low');
    const args = transcodeArgs({ input: 'pipe:0', inputFormat: 'mpegts', encoding: { type: 'passthrough' }, keyFrameIntervalSeconds: 1, segmentDurationSeconds: 2, outputDir, latency: 'low' });
    expect(args).not.toContain('nobuffer');
    // (the workload makes each rendition's folder before a run, as here)
    for (const rendition of ['source', 'audio']) fs.mkdirSync(path.join(outputDir, rendition), { recursive: true });
    await run('sh', ['-c', 'exec ffmpeg "$@" < "$0"', ts, ...args], { timeout: 60_000 });

    // THEN the init section and the segments hold every one of the 125 frames
    const renditionDir = path.join(outputDir, 'source');
    const segments = fs.readdirSync(renditionDir).filter((f) => /^seg-\d+\.m4s$/.test(f)).sort((x, y) => Number(/\d+/.exec(x)![0]) - Number(/\d+/.exec(y)![0]));
    const file = path.join(renditionDir, 'joined.mp4');
    fs.writeFileSync(file, Buffer.concat(['init.mp4', ...segments].map((f) => fs.readFileSync(path.join(renditionDir, f)))));
    const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'csv=p=0', file]);
    expect({ stdout: stdout.trim(), stderr }).toEqual({ stdout: 'h264,125', stderr: '' });
    expect(fs.existsSync(path.join(outputDir, 'audio', 'init.mp4'))).toBe(true);
  }, 60_000);
});
