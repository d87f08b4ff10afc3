/**
 * LL-HLS playlists checked against RFC 8216bis's rules, on the models ingest and origin really use:
 * ingest's asset playlist and live edge fed part by part through a stream with an encoder reconnect
 * (a new transcoder run), merged and rendered by the origin after every part, each rendering validated
 * on its own and against the one before (numbering never changes meaning, discontinuities signalled).
 */
import { LOW_LATENCY } from '../../../lib/model/latency';
import { AssetPlaylist } from '../../../lib/dataplane/ingest/asset-playlist';
import { LiveEdgeModel } from '../../../lib/dataplane/ingest/asset-live-edge';
import { parseMediaPlaylist } from '../../../lib/dataplane/media-playlist';
import {
  blockingVerdict, lastPartOf, LowLatencyPlaylist, mergeLiveEdge, parsePartUri, partUri, partVerdict, renderLowLatencyPlaylist,
} from '../../../lib/dataplane/origin/ll-hls';
import { continuityProblems, lowLatencyProblems, parseLowLatencyPlaylist } from '../../support/ll-hls-validator';

const PART_TARGET = LOW_LATENCY.partTargetSeconds;
/** What ffmpeg writes for 2-s segments at 30 fps: six 0.3-s chunks and a 0.2-s last one. */
const PART_DURATIONS = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.2];

interface Simulation {
  readonly playlists: string[];
  readonly merged: LowLatencyPlaylist[];
}

/** Feeds runs of segments part by part, as ingest does, rendering the origin's playlist after every change. */
function simulate(runs: { run: string; segments: number }[], options: { skip?: boolean; staleStored?: boolean } = {}): Simulation {
  const playlist = new AssetPlaylist();
  const edge = new LiveEdgeModel();
  const playlists: string[] = [];
  const merged: LowLatencyPlaylist[] = [];
  let storedText = playlist.render();
  let clock = Date.parse('2026-12-01T10:00:00Z');
  const render = () => {
    const stored = parseMediaPlaylist(options.staleStored ? storedText : playlist.render(), 'index.m3u8');
    const ll = mergeLiveEdge(stored, edge.toLiveEdge(PART_TARGET));
    if (!ll) return;
    merged.push(ll);
    playlists.push(renderLowLatencyPlaylist(ll, { skip: options.skip ?? false, reports: [] }));
  };
  for (const { run, segments } of runs) {
    for (let n = 1; n <= segments; n++) {
      const mapUri = `${run}-init.mp4`;
      const uri = `${run}-seg-${n}.m4s`;
      const identity = { ...playlist.next(mapUri), uri, mapUri, programDateTimeMs: clock };
      let offset = 24;
      const parts = PART_DURATIONS.map((durationSeconds, index) => {
        const part = { offset, length: 1000 + index, durationSeconds, independent: index === 0 };
        offset += part.length;
        expect(edge.addPart(identity, index, part)).toBe(true);
        render();
        return part;
      });
      const duration = PART_DURATIONS.reduce((a, b) => a + b, 0);
      storedText = playlist.render();
      playlist.append({ uri, mapUri, durationSeconds: duration, programDateTimeMs: clock, bytes: offset });
      edge.finish(identity, duration, parts);
      render();
      clock += duration * 1000;
    }
  }
  return { playlists, merged };
}

describe('LL-HLS playlists against RFC 8216bis', () => {
  it('keeps every rule in every reload of a stream with an encoder reconnect', () => {
    // GIVEN a stream of 5 segments, an encoder reconnect (a new run), then 5 more, fed part by part
    const { playlists } = simulate([{ run: 'r1', segments: 5 }, { run: 'r2', segments: 5 }]);
    expect(playlists.length).toBeGreaterThan(70);

    // THEN each reload keeps the rules, and none changes what an earlier one said a URI was
    for (const [i, text] of playlists.entries()) {
      expect({ i, problems: lowLatencyProblems(text) }).toEqual({ i, problems: [] });
      if (i > 0) expect({ i, problems: continuityProblems(playlists[i - 1], text) }).toEqual({ i, problems: [] });
    }
    // AND the reconnect is a discontinuity with the new run's init section, numbering carrying on
    const last = parseLowLatencyPlaylist(playlists[playlists.length - 1]);
    const firstOfRun2 = last.segments.find((s) => s.uri === 'r2-seg-1.m4s')!;
    expect(firstOfRun2).toMatchObject({ msn: 5, discontinuitySequence: 1, map: 'r2-init.mp4', discontinuity: true });
    expect(playlists[playlists.length - 1]).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="r2-init.mp4"/);
  });

  it('lists parts of the last three target durations, the parts being written, a preload hint and the server control', () => {
    const { playlists } = simulate([{ run: 'r1', segments: 6 }]);
    // Mid-segment: segment 6 (msn 5) has 3 of its 7 parts.
    const text = playlists.find((p) => parseLowLatencyPlaylist(p).writing.msn === 5 && parseLowLatencyPlaylist(p).writing.parts.length === 3)!;
    const parsed = parseLowLatencyPlaylist(text);
    expect(parsed.serverControl).toEqual({ 'CAN-BLOCK-RELOAD': 'YES', 'PART-HOLD-BACK': String(Number((3 * PART_TARGET).toFixed(3))), 'CAN-SKIP-UNTIL': '12' });
    expect(parsed.partTarget).toBe(PART_TARGET);
    expect(parsed.writing.parts.map((p) => p.uri)).toEqual(['r1-seg-6.part0.m4s', 'r1-seg-6.part1.m4s', 'r1-seg-6.part2.m4s']);
    expect(parsed.preloadHints).toEqual(['r1-seg-6.part3.m4s']);
    // Parts for segments ending within 3 target durations (6 s) of the end, none before.
    expect(parsed.segments.map((s) => s.parts.length)).toEqual([0, 0, 7, 7, 7]);
    // A segment just complete: the hint names the next segment's first part.
    const between = parseLowLatencyPlaylist(playlists.find((p) => parseLowLatencyPlaylist(p).segments.length === 3 && parseLowLatencyPlaylist(p).writing.parts.length === 0)!);
    expect(between.preloadHints).toEqual(['r1-seg-4.part0.m4s']);
  });

  it('answers delta updates with EXT-X-SKIP, keeping numbering and the init section of what is left', () => {
    const { playlists } = simulate([{ run: 'r1', segments: 12 }], { skip: true });
    const text = playlists[playlists.length - 1];
    const parsed = parseLowLatencyPlaylist(text);
    // 12 s x 2: six target durations back (12 s) are kept, the rest skipped.
    expect(parsed.skipped).toBe(6);
    expect(parsed.segments[0]).toMatchObject({ uri: 'r1-seg-7.m4s', msn: 6, map: 'r1-init.mp4' });
    expect(text).toMatch(/#EXT-X-VERSION:9/);
    expect(lowLatencyProblems(text)).toEqual([]);
  });

  it('merges a stored playlist one segment behind the live edge without losing or repeating a segment', () => {
    const { merged } = simulate([{ run: 'r1', segments: 6 }], { staleStored: true });
    for (const ll of merged) {
      const sequences = ll.segments.map((s) => s.sequence);
      expect(sequences).toEqual(sequences.map((_s, i) => sequences[0] + i));
    }
  });

  it('holds a blocking request until its part exists, answers one already there, refuses one too far ahead', () => {
    const { merged } = simulate([{ run: 'r1', segments: 3 }]);
    // Segments 0 and 1 complete, segment 2 being written with 4 parts.
    const ll = merged.find((m) => m.segments.length === 2 && m.writing?.parts.length === 4)!;
    expect(lastPartOf(ll)).toEqual({ msn: 2, part: 3 });
    expect(blockingVerdict(ll, 1, undefined)).toEqual({ kind: 'ready' });
    expect(blockingVerdict(ll, 2, undefined)).toEqual({ kind: 'wait' });
    expect(blockingVerdict(ll, 2, 3)).toEqual({ kind: 'ready' });
    expect(blockingVerdict(ll, 2, 4)).toEqual({ kind: 'wait' });
    // A part index past the end of a complete segment means the next segment's first part.
    expect(blockingVerdict(ll, 1, 7)).toEqual({ kind: 'ready' });
    expect(blockingVerdict(ll, 3, 0)).toEqual({ kind: 'wait' });
    expect(blockingVerdict(ll, 4, undefined)).toMatchObject({ kind: 'refuse', status: 400 });
    expect(blockingVerdict(ll, 2, 40)).toMatchObject({ kind: 'refuse', status: 400 });
  });

  it('serves a part its live edge lists, waits for one on its way (hinted, or listed by another replica), refuses one that never comes', () => {
    const edge = new LiveEdgeModel();
    const part = (index: number) => ({ offset: 24 + index * 1000, length: 1000, durationSeconds: 0.3, independent: index === 0 });
    const identity = (n: number) => ({ sequence: n - 1, discontinuitySequence: 0, discontinuity: false, uri: `r1-seg-${n}.m4s`, mapUri: 'r1-init.mp4', programDateTimeMs: 0 });
    edge.finish(identity(1), 2.1, PART_DURATIONS.map((_d, i) => part(i)));
    edge.addPart(identity(2), 0, part(0));
    edge.addPart(identity(2), 1, part(1));
    const segments = edge.toLiveEdge(PART_TARGET).segments;
    const verdict = (uri: string, index: number) => partVerdict(segments, uri, index, 8).kind;
    expect(partVerdict(segments, 'r1-seg-2.m4s', 1, 8)).toEqual({ kind: 'ready', part: part(1) });
    expect(verdict('r1-seg-1.m4s', 6)).toBe('ready');
    // The hinted part, parts further on, the next two segments' parts: written soon, or already elsewhere.
    expect(verdict('r1-seg-2.m4s', 2)).toBe('wait');
    expect(verdict('r1-seg-2.m4s', 5)).toBe('wait');
    expect(verdict('r1-seg-3.m4s', 0)).toBe('wait');
    expect(verdict('r1-seg-4.m4s', 1)).toBe('wait');
    // Never: past a complete segment's last part, more parts than a segment has, too far ahead, another run, no live edge.
    expect(verdict('r1-seg-1.m4s', 7)).toBe('gone');
    expect(verdict('r1-seg-2.m4s', 8)).toBe('gone');
    expect(verdict('r1-seg-5.m4s', 0)).toBe('gone');
    expect(verdict('r0-seg-3.m4s', 0)).toBe('gone');
    expect(partVerdict([], 'r1-seg-1.m4s', 0, 8).kind).toBe('gone');
  });

  it('names parts after their segment, and reads the names back', () => {
    expect(partUri('r1-seg-12.m4s', 3)).toBe('r1-seg-12.part3.m4s');
    expect(parsePartUri('r1-seg-12.part3.m4s')).toEqual({ segmentUri: 'r1-seg-12.m4s', index: 3 });
    expect(parsePartUri('r1-seg-12.m4s')).toBeUndefined();
  });

  it('fails validation of a playlist that breaks the rules (the checker is not blind)', () => {
    const bad = [
      '#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.5', '#EXT-X-PART-INF:PART-TARGET=0.334',
      '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-MAP:URI="a-init.mp4"',
      '#EXT-X-PART:DURATION=0.3,URI="a-seg-1.part0.m4s",INDEPENDENT=YES', '#EXTINF:2.0,', 'a-seg-1.m4s',
      '#EXT-X-MAP:URI="b-init.mp4"', '#EXT-X-PART:DURATION=0.4,URI="b-seg-1.part0.m4s"', '',
    ].join('\n');
    expect(lowLatencyProblems(bad)).toEqual([
      'PART-HOLD-BACK 0.5 is less than 3 x PART-TARGET (0.334)',
      'a-seg-1.m4s: its parts last 0.30000 s but EXTINF says 2 (not every part listed before it)',
      'segment 1 (being written): part b-seg-1.part0.m4s lasts 0.4 s, more than PART-TARGET 0.334',
    ]);
  });
});
