/**
 * The live edge of one rendition of a low-latency recording, as ingest keeps it (pure): the newest
 * complete segments with their parts, and the segment ffmpeg is writing with the parts written so far.
 * Rendered as `live.json` (storage-layout LiveEdge) on every part; the origin lists the parts from it.
 */
import { LiveEdge, LivePart, LiveSegment } from '../../contract/storage-layout';

/** Where a segment sits in its asset's playlist (AssetPlaylist.next), and what it is. */
export type LiveSegmentIdentity = Pick<LiveSegment, 'sequence' | 'discontinuitySequence' | 'discontinuity' | 'uri' | 'mapUri' | 'programDateTimeMs'>;

/**
 * Complete segments kept with their parts. RFC 8216bis lets servers drop the parts of segments more
 * than three target durations from the live edge; four segments cover that for any segment duration.
 */
const KEPT_COMPLETE = 4;

export class LiveEdgeModel {
  private complete: LiveSegment[] = [];
  private writing?: LiveSegment;

  /** File name of the segment being written, if any (referenced, though not yet in the playlist). */
  get writingUri(): string | undefined {
    return this.writing?.uri;
  }

  /**
   * Adds part `index` of a segment being written. A part of another segment replaces a segment that
   * never completed; a part out of order (one was missed) is left out, since parts must be contiguous:
   * the segment's complete list arrives with finish().
   */
  addPart(segment: LiveSegmentIdentity, index: number, part: LivePart): boolean {
    if (this.writing?.uri !== segment.uri) this.writing = { ...segment, complete: false, durationSeconds: 0, parts: [] };
    if (index !== this.writing.parts.length) return false;
    this.writing = { ...this.writing, durationSeconds: this.writing.durationSeconds + part.durationSeconds, parts: [...this.writing.parts, part] };
    return true;
  }

  /** The segment is complete and in the playlist: it keeps its parts among the newest complete segments. */
  finish(segment: LiveSegmentIdentity, durationSeconds: number, parts: readonly LivePart[]): void {
    if (this.writing?.uri === segment.uri) this.writing = undefined;
    this.complete = [...this.complete.filter((s) => s.uri !== segment.uri), { ...segment, complete: true, durationSeconds, parts: [...parts] }].slice(-KEPT_COMPLETE);
  }

  /** Nothing at the live edge any more (the program stopped: its asset is video on demand). */
  clear(): void {
    this.complete = [];
    this.writing = undefined;
  }

  toLiveEdge(partTargetSeconds: number): LiveEdge {
    return { version: 1, partTargetSeconds, segments: this.writing ? [...this.complete, this.writing] : [...this.complete] };
  }
}
