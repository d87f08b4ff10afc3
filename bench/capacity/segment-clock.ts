/**
 * How fast a live rendition produces media, read the way a player or the origin sees it: the stored
 * playlist (`assets/<asset>/<rendition>/index.m3u8`) polled often, each new segment noted with the time
 * it first appeared. Over a window, media seconds produced / wall seconds elapsed between the first and
 * the last new segment is the production rate: 1.0 is real time, below it the channel falls behind.
 */
import * as fs from 'node:fs';
import { parseMediaPlaylist } from '../../lib/dataplane/media-playlist';

interface Appearance {
  readonly atMs: number;
  /** Media seconds produced up to and including this segment (since the clock started). */
  readonly mediaSeconds: number;
}

export class SegmentClock {
  private readonly seen = new Map<number, number>();
  private readonly appearances: Appearance[] = [];
  private produced = 0;

  constructor(private readonly playlistFile: string) {}

  /** Reads the playlist once; notes the segments not seen before. */
  poll(nowMs = Date.now()): void {
    let text: string;
    try {
      text = fs.readFileSync(this.playlistFile, 'utf8');
    } catch {
      return; // not written yet
    }
    const playlist = parseMediaPlaylist(text, this.playlistFile);
    let fresh = false;
    for (const segment of playlist.segments) {
      if (this.seen.has(segment.sequence)) continue;
      this.seen.set(segment.sequence, segment.durationSeconds);
      this.produced += segment.durationSeconds;
      fresh = true;
    }
    if (fresh) this.appearances.push({ atMs: nowMs, mediaSeconds: this.produced });
  }

  /** Segments seen so far. */
  get segments(): number {
    return this.seen.size;
  }

  /**
   * Production rate over the appearances at or after `sinceMs` (at least three, else undefined):
   * media seconds between the first and the last of them / wall seconds between them.
   */
  rateSince(sinceMs: number): number | undefined {
    const window = this.appearances.filter((a) => a.atMs >= sinceMs);
    if (window.length < 3) return undefined;
    const first = window[0];
    const last = window[window.length - 1];
    return (last.mediaSeconds - first.mediaSeconds) / ((last.atMs - first.atMs) / 1000);
  }
}
