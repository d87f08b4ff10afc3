/**
 * The low-latency transcoder output, for real: ffmpeg runs the workload's own low-latency arguments on
 * a short input read in real time, and ChunkedRunOutput hands on each chunk while its segment is still
 * being written — before the segment file has its final name — then the segment, whose parts are
 * exactly its bytes after the segment type box, each within the part target.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { LOW_LATENCY } from '../../../../lib/model/latency';
import { Encoding } from '../../../../lib/model/manifest';
import { ChunkedRunOutput } from '../../../../lib/dataplane/ingest/chunked-run-output';
import { fragmentTiming, initTiming } from '../../../../lib/dataplane/mp4/fragment-timing';
import { PartEvent, SegmentEvent } from '../../../../lib/dataplane/ingest/run-output';
import { renditionPlan, transcodeArgs } from '../../../../lib/dataplane/ingest/transcode-args';

jest.setTimeout(60_000);
const run = promisify(execFile);

const LADDER: Encoding = {
  type: 'standard',
  preset: 'Custom',
  ladder: [{ name: '180p', width: 320, height: 180, videoBitrateKbps: 300, profile: 'main' }],
  audioBitrateKbps: 64,
  speedPreset: 'superfast',
};

let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chunked-output-'));
  await run('ffmpeg', [
    // The sound starts 1.2 s after the picture, as it may from an encoder.
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-itsoffset', '1.2', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '5', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-c:a', 'aac', '-ac', '2', '-f', 'flv', path.join(dir, 'input.flv'),
  ], { timeout: 30_000 });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('hands on every chunk while its segment is written, then the segment made of exactly those chunks', async () => {
  const outputDir = path.join(dir, 'run');
  const parts: (PartEvent & { final: boolean })[] = [];
  const segments: SegmentEvent[] = [];
  const log = { info: () => undefined, error: (m: string) => { throw new Error(m); } };
  const output = new ChunkedRunOutput('run', outputDir, renditionPlan(LADDER), (s) => segments.push(s), (p) => parts.push({ ...p, final: fs.existsSync(p.segmentPath) }), log, LOW_LATENCY.partTargetSeconds);
  output.watch();
  const args = transcodeArgs({ input: path.join(dir, 'input.flv'), encoding: LADDER, keyFrameIntervalSeconds: 1, segmentDurationSeconds: 2, outputDir, latency: 'low' });
  // Real time, as an RTMP publisher delivers it.
  const child = spawn('ffmpeg', ['-re', ...args], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  output.close();

  for (const rendition of ['180p', 'audio']) {
    const own = segments.filter((s) => s.rendition === rendition);
    expect(own.length).toBeGreaterThanOrEqual(2);
    for (const segment of own) {
      const its = parts.filter((p) => p.segmentPath === segment.segmentPath);
      // Several parts per segment, all but the last seen before the segment had its final name. Not the
      // run's last segment: at the end of the input ffmpeg writes its last fragments and renames the file
      // at once (seen in a loaded run: two parts of it only after the rename), which no live input does.
      expect(its.length).toBeGreaterThanOrEqual(2);
      if (segment !== own[own.length - 1]) expect(its.filter((p) => !p.final).length).toBeGreaterThanOrEqual(its.length - 1);
      expect(its.map((p) => p.index)).toEqual(its.map((_p, i) => i));
      expect(segment.parts).toHaveLength(its.length);
      for (const p of its) expect(p.durationSeconds).toBeLessThanOrEqual(LOW_LATENCY.partTargetSeconds);
      // At least 85% of the target, but for the segment's last part (RFC 8216bis).
      for (const p of its.slice(0, -1)) expect(p.durationSeconds).toBeGreaterThanOrEqual(0.85 * LOW_LATENCY.partTargetSeconds);
      expect(its[0].independent).toBe(true);
      // The parts are the file after its 24-byte segment type box, end to end.
      const file = fs.readFileSync(segment.segmentPath);
      expect(its[0].offset).toBe(24);
      its.forEach((p, i) => { if (i > 0) expect(p.offset).toBe(its[i - 1].offset + its[i - 1].length); });
      expect(its[its.length - 1].offset + its[its.length - 1].length).toBe(file.length);
      expect(Math.abs(its.reduce((t, p) => t + p.durationSeconds, 0) - segment.durationSeconds)).toBeLessThan(1e-6);
    }
  }
  // Segment n of every rendition starts at the same time (to an audio frame), though the sound started
  // 1.2 s after the picture: by its decode time (what hls.js reads) and by its presentation time (the
  // init section's edit list applied, as ffprobe does). Players line renditions up by sequence number.
  const video = segments.filter((s) => s.rendition === '180p');
  const audio = segments.filter((s) => s.rendition === 'audio');
  expect(Math.abs(audio.length - video.length)).toBeLessThanOrEqual(1);
  const apart: { decodeMs: number; presentedMs: number }[] = [];
  for (let n = 0; n < Math.min(audio.length, video.length); n++) {
    const [a, v] = [audio[n], video[n]];
    apart.push({ decodeMs: Math.abs(decodeStartMs(a) - decodeStartMs(v)), presentedMs: Math.abs((await presentedStartMs(a)) - (await presentedStartMs(v))) });
  }
  expect(apart.length).toBeGreaterThanOrEqual(2);
  expect(Math.max(...apart.map((x) => x.decodeMs))).toBeLessThanOrEqual(25);
  expect(Math.max(...apart.map((x) => x.presentedMs))).toBeLessThanOrEqual(25);

  // Video frames start and last whole microseconds, the unit browsers keep media time in (Chromium
  // truncates into it): the frames of segment n then end exactly where segment n + 1 starts in the
  // browser's buffered ranges, not 1 us short of it (which stalled hls.js at the live edge).
  const frameEdgesUs: number[][] = [];
  for (const segment of video) {
    const frames = await videoFramesUs(segment);
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      expect(Number.isInteger(f.startUs)).toBe(true);
      expect(Number.isInteger(f.durationUs)).toBe(true);
    }
    frameEdgesUs.push([frames[0].startUs, frames[frames.length - 1].startUs + frames[frames.length - 1].durationUs]);
  }
  for (let n = 1; n < frameEdgesUs.length; n++) expect(frameEdgesUs[n][0]).toBe(frameEdgesUs[n - 1][1]);
});

/** Each video frame's start and duration in microseconds, from its timestamps in the track's timescale as ffprobe lists them. */
async function videoFramesUs(segment: SegmentEvent): Promise<{ startUs: number; durationUs: number }[]> {
  const file = `${segment.segmentPath}.frames.mp4`;
  fs.writeFileSync(file, Buffer.concat([fs.readFileSync(segment.initPath), fs.readFileSync(segment.segmentPath)]));
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=time_base:packet=pts,duration', '-of', 'json', file], { timeout: 10_000 });
  const probe = JSON.parse(stdout) as { streams: { time_base: string }[]; packets: { pts: number; duration: number }[] };
  const ticksPerSecond = Number(probe.streams[0].time_base.split('/')[1]);
  return probe.packets.map((p) => ({ startUs: (p.pts * 1e6) / ticksPerSecond, durationUs: (p.duration * 1e6) / ticksPerSecond }))
    .sort((a, b) => a.startUs - b.startUs);
}

/** Decode time of a segment's first sample (its `tfdt`), in milliseconds. */
function decodeStartMs(segment: SegmentEvent): number {
  const timescale = initTiming(fs.readFileSync(segment.initPath))!.timescale;
  return (fragmentTiming(fs.readFileSync(segment.segmentPath))!.decodeTime / timescale) * 1000;
}

/** Presentation time of a segment's first sample as ffprobe reads it (init section and edit list applied), in milliseconds. */
async function presentedStartMs(segment: SegmentEvent): Promise<number> {
  const file = `${segment.segmentPath}.probe.mp4`;
  fs.writeFileSync(file, Buffer.concat([fs.readFileSync(segment.initPath), fs.readFileSync(segment.segmentPath)]));
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=pts_time', '-read_intervals', '%+#1', '-of', 'csv=p=0', file], { timeout: 10_000 });
  return Number(stdout.trim().split('\n')[0]) * 1000;
}
