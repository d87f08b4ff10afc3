/**
 * The asset playlist model: what the origin reads back (through its own parser) is what ingest
 * appended, trimmed and closed — sequence numbers, discontinuities, init sections, ENDLIST.
 */
import { parseMediaPlaylist } from '../../../lib/dataplane/media-playlist';
import { AssetPlaylist } from '../../../lib/dataplane/ingest/asset-playlist';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function segment(run: string, n: number, durationSeconds = 2) {
  return { uri: `${run}-seg-${n}.m4s`, mapUri: `${run}-init.mp4`, durationSeconds, programDateTimeMs: T0 + n * 2000, bytes: 1000 };
}

describe('AssetPlaylist', () => {
  it('renders a live fMP4 playlist the origin parses back segment for segment', () => {
    // GIVEN three segments of one run
    const playlist = new AssetPlaylist();
    for (let n = 0; n < 3; n++) playlist.append(segment('r1', n));

    // WHEN the origin parses what ingest wrote
    const stored = parseMediaPlaylist(playlist.render(), 'index.m3u8');

    // THEN every segment is there, with its init section and program date time, and it is live
    expect(stored.endList).toBe(false);
    expect(stored.targetDurationSeconds).toBe(2);
    expect(stored.segments.map((s) => [s.uri, s.mapUri, s.sequence, s.discontinuity])).toEqual([
      ['r1-seg-0.m4s', 'r1-init.mp4', 0, false],
      ['r1-seg-1.m4s', 'r1-init.mp4', 1, false],
      ['r1-seg-2.m4s', 'r1-init.mp4', 2, false],
    ]);
    expect(stored.segments[2].programDateTimeMs).toBe(T0 + 4000);
  });

  it('puts a discontinuity and a new EXT-X-MAP before the first segment of a new run', () => {
    const playlist = new AssetPlaylist();
    playlist.append(segment('r1', 0));
    playlist.append(segment('r2', 0));

    const text = playlist.render();
    const stored = parseMediaPlaylist(text, 'index.m3u8');

    expect(text).toMatch(/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="r2-init.mp4"\n/);
    expect(stored.segments.map((s) => [s.discontinuity, s.discontinuitySequence, s.mapUri])).toEqual([
      [false, 0, 'r1-init.mp4'],
      [true, 1, 'r2-init.mp4'],
    ]);
  });

  it('keeps the numbers of remaining segments when the window slides past a discontinuity', () => {
    // GIVEN r1 (3 segments) then r2 (3 segments): r2-seg-0 is discontinuity sequence 1
    const playlist = new AssetPlaylist();
    for (let n = 0; n < 3; n++) playlist.append(segment('r1', n));
    for (let n = 0; n < 3; n++) playlist.append(segment('r2', n));
    const before = parseMediaPlaylist(playlist.render(), 'before');

    // WHEN the window keeps only 4 s (two segments)
    const dropped = playlist.trim(4);

    // THEN the rest keep their media and discontinuity sequence numbers, and r1's files are released
    const after = parseMediaPlaylist(playlist.render(), 'after');
    expect(after.segments.map((s) => s.uri)).toEqual(['r2-seg-1.m4s', 'r2-seg-2.m4s']);
    for (const s of after.segments) {
      const same = before.segments.find((b) => b.uri === s.uri)!;
      expect([s.sequence, s.discontinuitySequence]).toEqual([same.sequence, same.discontinuitySequence]);
    }
    expect(dropped.sort()).toEqual(['r1-init.mp4', 'r1-seg-0.m4s', 'r1-seg-1.m4s', 'r1-seg-2.m4s', 'r2-seg-0.m4s']);
  });

  it('keeps the newest segment even when it alone is longer than the window', () => {
    const playlist = new AssetPlaylist();
    playlist.append(segment('r1', 0, 6));
    playlist.append(segment('r1', 1, 6));

    playlist.trim(4);

    expect(playlist.segments.map((s) => s.uri)).toEqual(['r1-seg-1.m4s']);
  });

  it('closes with EXT-X-ENDLIST and, reopened, continues after a discontinuity even within the same run', () => {
    const playlist = new AssetPlaylist();
    playlist.append(segment('r1', 0));
    playlist.end();
    expect(parseMediaPlaylist(playlist.render(), 'closed').endList).toBe(true);

    playlist.reopen();
    playlist.append(segment('r1', 5));

    const stored = parseMediaPlaylist(playlist.render(), 'reopened');
    expect(stored.endList).toBe(false);
    expect(stored.segments.map((s) => s.discontinuity)).toEqual([false, true]);
  });

  it('refuses to append to a closed playlist', () => {
    const playlist = new AssetPlaylist();
    playlist.append(segment('r1', 0));
    playlist.end();

    expect(() => playlist.append(segment('r1', 1))).toThrow(/closed/);
  });

  it('rebuilds from a stored playlist and goes on where it left off', () => {
    const original = new AssetPlaylist();
    for (let n = 0; n < 4; n++) original.append(segment('r1', n));
    original.trim(4);

    const rebuilt = AssetPlaylist.fromStored(parseMediaPlaylist(original.render(), 'stored'), () => 1000);
    rebuilt.append(segment('r2', 0));

    const stored = parseMediaPlaylist(rebuilt.render(), 'continued');
    expect(stored.segments.map((s) => [s.uri, s.sequence, s.discontinuitySequence])).toEqual([
      ['r1-seg-2.m4s', 2, 0],
      ['r1-seg-3.m4s', 3, 0],
      ['r2-seg-0.m4s', 4, 1],
    ]);
  });

  it('never lowers the target duration, and rounds durations as RFC 8216 does', () => {
    // GIVEN a 3.4 s segment (rounds to 3) followed by a 2.005 s one (rounds to 2)
    const playlist = new AssetPlaylist();
    playlist.append(segment('r1', 0, 3.4));
    playlist.append(segment('r1', 1, 2.005));

    // WHEN the long one slides out
    playlist.trim(2.5);

    // THEN the target duration stays 3 (a live playlist's target duration must not change)
    const stored = parseMediaPlaylist(playlist.render(), 'p');
    expect(stored.segments.map((s) => s.uri)).toEqual(['r1-seg-1.m4s']);
    expect(stored.targetDurationSeconds).toBe(3);
  });
});
