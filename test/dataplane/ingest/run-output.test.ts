import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunOutput, SegmentEvent } from '../../../lib/dataplane/ingest/run-output';
import { Logger } from '../../../lib/dataplane/common/log';
import { fragment, init } from '../../support/mp4-boxes';

const quiet = { info: () => undefined, error: () => undefined } as unknown as Logger;
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0, 123);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-output-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * What ffmpeg writes for one rendition: init section, fragments with the given decode times, and a
 * playlist whose EXTINF durations are rounded to 6 decimals (as ffmpeg prints them).
 */
function writeRendition(name: string, timescale: number, decodeTimes: number[], end: number): void {
  const folder = path.join(dir, name);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'init.mp4'), init(timescale));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:4', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-MAP:URI="init.mp4"'];
  decodeTimes.forEach((time, n) => {
    fs.writeFileSync(path.join(folder, `seg-${n}.m4s`), fragment(time, 1024));
    const next = decodeTimes[n + 1] ?? end;
    lines.push(`#EXTINF:${((next - time) / timescale).toFixed(6)},`, `seg-${n}.m4s`);
  });
  fs.writeFileSync(path.join(folder, 'index.m3u8'), `${lines.join('\n')}\n`);
}

describe('RunOutput program date times', () => {
  test('are the run\'s anchor plus each fragment\'s decode time, so PDT - decode time is one value across segments and renditions', () => {
    // GIVEN 29.97 fps video (4.004-s fragments, which EXTINF rounds) and AAC audio in 187/188-frame fragments
    writeRendition('video', 30000, [0, 120120, 240240, 360360], 480480);
    const audio = [0, 187 * 1024, 187 * 1024 + 188 * 1024, 2 * 187 * 1024 + 188 * 1024];
    writeRendition('audio', 48000, audio, audio[3] + 188 * 1024);
    const events: SegmentEvent[] = [];

    // WHEN the run's output is read, the clock at NOW
    new RunOutput('r1', dir, ['video', 'audio'], (e) => events.push(e), quiet, () => NOW).poll();

    // THEN the first segment, which ended about now, fixes the anchor; every other PDT follows its decode time
    expect(events).toHaveLength(8);
    const anchor = Math.round(NOW - 4.004 * 1000);
    const scales: Record<string, number> = { video: 30000, audio: 48000 };
    const decode = (e: SegmentEvent) => (e.rendition === 'video' ? [0, 120120, 240240, 360360] : audio)[Number(/seg-(\d+)/.exec(e.segmentPath)![1])];
    for (const e of events) {
      expect(e.programDateTimeMs! - Math.floor((decode(e) * 1000) / scales[e.rendition])).toBe(anchor);
    }
    expect(events.filter((e) => e.rendition === 'video').map((e) => e.programDateTimeMs! - anchor)).toEqual([0, 4004, 8008, 12012]);
  });

  test('fall back to the sum of the durations when a fragment carries no decode time', () => {
    writeRendition('video', 12800, [0, 51200], 102400);
    fs.writeFileSync(path.join(dir, 'video', 'seg-1.m4s'), Buffer.from('not a fragment'));
    const events: SegmentEvent[] = [];

    new RunOutput('r1', dir, ['video'], (e) => events.push(e), quiet, () => NOW).poll();

    expect(events.map((e) => e.programDateTimeMs! - events[0].programDateTimeMs!)).toEqual([0, 4000]);
  });
});
