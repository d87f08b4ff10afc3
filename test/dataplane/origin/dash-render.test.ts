import * as fc from 'fast-check';
import { parse } from 'mpd-parser';
import { DashInput, DashRendition, DashRun, DashSegment, renderMpd, SEND_TIME_SLOT } from '../../../lib/dataplane/origin/dash-render';
import { StoredRendition } from '../../../lib/contract/storage-layout';

const VIDEO: StoredRendition = { name: '180p', type: 'video', bandwidth: 300_000, codecs: 'avc1.4d400d', width: 320, height: 180, frameRate: 25 };
const AUDIO: StoredRendition = { name: 'audio', type: 'audio', bandwidth: 64_000, codecs: 'mp4a.40.2', sampleRate: 48000, channels: 2 };
const VIDEO_SCALE = 15360;
const AUDIO_SCALE = 48000;
/** Asset start (the MPD's availabilityStartTime, floored to the second) and a run 10 s later. */
const ASSET_START = Date.UTC(2026, 11, 1, 12, 0, 0) + 500;
const RUN1_ANCHOR = Date.UTC(2026, 11, 1, 12, 0, 10);

/**
 * `count` 4-s segments of a run, numbered from `firstSequence`, as ingest stores them: program date
 * time = run anchor + decode time (floored to the ms). Audio fragments alternate 187 and 188 AAC
 * frames and present 1024 samples (priming) before their decode time.
 */
function run(mapUri: string, type: 'video' | 'audio', anchorMs: number, firstSequence: number, count: number, fromIndex = 0): DashRun {
  const timescale = type === 'video' ? VIDEO_SCALE : AUDIO_SCALE;
  const segments: DashSegment[] = [];
  let decodeTime = 0;
  for (let i = 0; i < fromIndex + count; i++) {
    const duration = type === 'video' ? 4 * VIDEO_SCALE : (i % 2 === 0 ? 187 : 188) * 1024;
    if (i >= fromIndex) {
      segments.push({
        sequence: firstSequence + i,
        time: type === 'video' ? decodeTime : decodeTime - 1024,
        duration,
        decodeTime,
        programDateTimeMs: anchorMs + Math.floor((decodeTime * 1000) / timescale),
      });
    }
    decodeTime += duration;
  }
  return { mapUri, timescale, segments };
}

function input(runs: (type: 'video' | 'audio') => DashRun[], overrides: Partial<DashInput> = {}): DashInput {
  const renditions: DashRendition[] = [{ rendition: VIDEO, runs: runs('video') }, { rendition: AUDIO, runs: runs('audio') }];
  return { live: true, assetStartMs: ASSET_START, archiveWindowSeconds: 300, segmentDurationSeconds: 4, renditions, nowMs: RUN1_ANCHOR + 60_000, ...overrides };
}

const attribute = (xml: string, element: string, name: string) => [...xml.matchAll(new RegExp(`<${element}\\b[^>]*\\b${name}="([^"]*)"`, 'g'))].map((m) => m[1]);

describe('renderMpd, live', () => {
  test('writes a dynamic MPD: SegmentTemplate with $Number$ and a run-length SegmentTimeline, the Period at the run\'s wall-clock start', () => {
    const mpd = renderMpd(input((type) => [run('r1-init.mp4', type, RUN1_ANCHOR, 0, 5)]));

    expect(mpd).toContain('type="dynamic" availabilityStartTime="2026-12-01T12:00:00Z"');
    expect(mpd).toContain('timeShiftBufferDepth="PT300.000S"');
    expect(mpd).toContain('suggestedPresentationDelay="PT7.000S"');
    expect(mpd).toContain('minimumUpdatePeriod="PT2.000S"');
    expect(mpd).toContain(`<UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="${SEND_TIME_SLOT}"/>`);
    expect(mpd).not.toContain('SegmentList');
    expect(attribute(mpd, 'Period', 'start')).toEqual(['PT10.000S']);
    expect(mpd).toContain('<SegmentTemplate timescale="15360" presentationTimeOffset="0" startNumber="0" initialization="180p/r1-init.mp4" media="180p/r1-init/$Number$.m4s">');
    expect(mpd).toContain('<S t="0" d="61440" r="4"/>');
    // AAC priming puts the first audio fragment 1024 samples before 0: it starts the timeline at 0, shorter.
    expect(mpd).toMatch(/<SegmentTemplate timescale="48000"[^>]*>\s*<SegmentTimeline>\s*<S t="0" d="190464"\/>\s*<S d="192512"\/>\s*<S d="191488"\/>/);
  });

  test('keeps AST, Period ids, starts, durations and presentationTimeOffsets while the window slides', () => {
    // GIVEN run 1 (12 segments from number 100) and run 2, 30 s after run 1 ended
    const run2 = (type: 'video' | 'audio', count: number) => run('r2-init.mp4', type, RUN1_ANCHOR + 78_000, 112, count);
    const before = renderMpd(input((type) => [run('r1-init.mp4', type, RUN1_ANCHOR, 100, 12), run2(type, 2)]));
    fc.assert(fc.property(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 1, max: 20 }), (trimmed, newer) => {
      // WHEN the window has slid by `trimmed` segments and run 2 has `newer` segments
      const after = renderMpd(input((type) => [run('r1-init.mp4', type, RUN1_ANCHOR, 100, 12 - trimmed, trimmed), run2(type, newer)]));
      // THEN nothing already published moved
      for (const [element, name] of [['MPD', 'availabilityStartTime'], ['Period', 'id'], ['Period', 'start'], ['Period', 'duration'], ['SegmentTemplate', 'presentationTimeOffset'], ['SegmentTemplate', 'media']]) {
        expect(attribute(after, element, name)).toEqual(attribute(before, element, name));
      }
      expect(attribute(after, 'SegmentTemplate', 'startNumber')).toEqual([`${100 + trimmed}`, `${100 + trimmed}`, '112', '112']);
    }));
  });

  test('ends a Period with its media when the encoder reconnects, and starts the next at its own wall-clock start', () => {
    // GIVEN run 1 (5 segments, 20 s) and run 2 starting 22 s after run 1's media ended
    const run2Anchor = RUN1_ANCHOR + 20_000 + 22_000;
    const mpd = renderMpd(input((type) => [run('r1-init.mp4', type, RUN1_ANCHOR, 0, 5), run('r2-init.mp4', type, run2Anchor, 5, 2)]));

    expect(attribute(mpd, 'Period', 'id')).toEqual(['r1-init', 'r2-init']);
    expect(attribute(mpd, 'Period', 'start')).toEqual(['PT10.000S', 'PT52.000S']);
    // The first Period ends with its media (10 s + 20 s): the 22 s between belong to no Period.
    expect(attribute(mpd, 'Period', 'duration')).toEqual(['PT20.000S']);
    expect(attribute(mpd, 'SegmentTemplate', 'startNumber')).toEqual(['0', '0', '5', '5']);
  });

  test('publishes a run\'s Period only once every rendition has a segment of it, and drops one that a rendition no longer has', () => {
    const newest = renderMpd(input((type) => [run('r1-init.mp4', type, RUN1_ANCHOR, 0, 5), ...(type === 'video' ? [run('r2-init.mp4', type, RUN1_ANCHOR + 60_000, 5, 1)] : [])]));
    expect(attribute(newest, 'Period', 'id')).toEqual(['r1-init']);

    const oldest = renderMpd(input((type) => [...(type === 'audio' ? [run('r1-init.mp4', type, RUN1_ANCHOR, 0, 1)] : []), run('r2-init.mp4', type, RUN1_ANCHOR + 60_000, 5, 3)]));
    expect(attribute(oldest, 'Period', 'id')).toEqual(['r2-init']);
  });

  test('pairs renditions whose init files are named apart (ffmpeg\'s init_0, init_1) by where their media lies on the wall clock', () => {
    const run2Anchor = RUN1_ANCHOR + 42_000;
    const mpd = renderMpd(input((type) => [
      run(`${type}-a-init.mp4`, type, RUN1_ANCHOR, 0, 5),
      run(`${type}-b-init.mp4`, type, run2Anchor, 5, 2),
    ]));

    expect(attribute(mpd, 'Period', 'start')).toEqual(['PT10.000S', 'PT52.000S']);
    expect(attribute(mpd, 'SegmentTemplate', 'initialization')).toEqual(['180p/video-a-init.mp4', 'audio/audio-a-init.mp4', '180p/video-b-init.mp4', 'audio/audio-b-init.mp4']);
  });

  test('starts a run that began before the asset (a program started while the encoder was live) at 0, its media time offset accordingly', () => {
    // GIVEN media time 0 of the run 30 s before the asset's start (whole seconds)
    const mpd = renderMpd(input((type) => [run('r1-init.mp4', type, ASSET_START - 30_500, 40, 3, 7)]));

    expect(attribute(mpd, 'Period', 'start')).toEqual(['PT0.000S']);
    expect(attribute(mpd, 'SegmentTemplate', 'presentationTimeOffset')).toEqual([`${30 * VIDEO_SCALE}`, `${30 * AUDIO_SCALE}`]);
  });

  test('a gap inside a run (a program stopped and started again) restarts the timeline with S@t, numbers continuing', () => {
    const video = run('r1-init.mp4', 'video', RUN1_ANCHOR, 0, 10);
    const gapped: DashRun = { ...video, segments: [...video.segments.slice(0, 3), ...video.segments.slice(7).map((s, i) => ({ ...s, sequence: 3 + i }))] };
    const mpd = renderMpd({ ...input(() => []), renditions: [{ rendition: VIDEO, runs: [gapped] }] });

    expect(mpd).toContain(`<S t="0" d="61440" r="2"/>\n            <S t="${7 * 61440}" d="61440" r="2"/>`);
  });
});

describe('renderMpd, video on demand', () => {
  test('lays the runs end to end from 0 in a static MPD, each Period with its duration, the away time left out', () => {
    const mpd = renderMpd(input((type) => [run('r1-init.mp4', type, RUN1_ANCHOR, 0, 5), run('r2-init.mp4', type, RUN1_ANCHOR + 42_000, 5, 3)], { live: false }));

    expect(mpd).toContain('type="static" mediaPresentationDuration="PT32.000S"');
    expect(mpd).not.toContain('availabilityStartTime');
    expect(attribute(mpd, 'Period', 'start')).toEqual(['PT0.000S', 'PT20.000S']);
    expect(attribute(mpd, 'Period', 'duration')).toEqual(['PT20.000S', 'PT12.000S']);
  });

  test('is read by mpd-parser (an independent DASH parser) as segment URLs the origin serves, with their durations', () => {
    const mpd = renderMpd(input((type) => [run('r1-init.mp4', type, RUN1_ANCHOR, 7, 5), run('r2-init.mp4', type, RUN1_ANCHOR + 42_000, 12, 3)], { live: false }));

    const parsed = parse(mpd, { manifestUri: 'http://origin/locator/index.mpd' });
    const video = parsed.playlists[0];
    expect(video.segments.map((s) => s.resolvedUri)).toEqual([
      ...[7, 8, 9, 10, 11].map((n) => `http://origin/locator/180p/r1-init/${n}.m4s`),
      ...[12, 13, 14].map((n) => `http://origin/locator/180p/r2-init/${n}.m4s`),
    ]);
    expect(video.segments.map((s) => s.duration)).toEqual(Array(8).fill(4));
    expect(video.segments[7].map?.resolvedUri).toBe('http://origin/locator/180p/r2-init.mp4');
    expect(parsed.duration).toBe(32);
  });
});
