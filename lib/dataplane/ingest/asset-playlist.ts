/**
 * One rendition's HLS media playlist of an asset, as ingest keeps it (pure: no file access). It
 * grows by appending the channel's segments, slides while its program runs (the archive window is
 * the program's DVR depth), and is closed with EXT-X-ENDLIST when the program stops.
 *
 * A new transcoder run (a reconnect, a restarted transcoder, a restarted program) starts after an
 * EXT-X-DISCONTINUITY with its own EXT-X-MAP, so timestamps may jump without confusing players.
 * When segments slide out, EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE advance as
 * RFC 8216 requires, so the numbers of the remaining segments never change.
 */
import { StoredPlaylist } from '../media-playlist';

export interface AssetSegment {
  /** File name in the rendition folder. */
  readonly uri: string;
  readonly durationSeconds: number;
  readonly programDateTimeMs?: number;
  /** Init section (file name in the rendition folder). */
  readonly mapUri: string;
  /** An EXT-X-DISCONTINUITY precedes this segment. */
  readonly discontinuity: boolean;
  /** Size in bytes (for measured bandwidths; not written to the playlist). */
  readonly bytes: number;
}

export class AssetPlaylist {
  private segmentList: AssetSegment[] = [];
  private mediaSequence = 0;
  private discontinuitySequence = 0;
  private targetDuration = 1;
  private ended = false;
  /** The next segment follows a gap (program restarted) even if it shares the last one's init section. */
  private gapPending = false;

  /** Rebuilds the model from a playlist ingest wrote earlier; `bytesOf` gives each segment's size. */
  static fromStored(stored: StoredPlaylist, bytesOf: (uri: string) => number): AssetPlaylist {
    const playlist = new AssetPlaylist();
    const first = stored.segments[0];
    playlist.mediaSequence = first?.sequence ?? 0;
    playlist.discontinuitySequence = first?.discontinuitySequence ?? 0;
    playlist.targetDuration = Math.max(1, stored.targetDurationSeconds);
    playlist.ended = stored.endList;
    playlist.segmentList = stored.segments.map((s, index) => ({
      uri: s.uri,
      durationSeconds: s.durationSeconds,
      programDateTimeMs: s.programDateTimeMs,
      mapUri: s.mapUri ?? '',
      discontinuity: index > 0 && s.discontinuity,
      bytes: bytesOf(s.uri),
    }));
    return playlist;
  }

  get segments(): readonly AssetSegment[] {
    return this.segmentList;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Media sequence number, discontinuity and discontinuity sequence of the segment append() would add next. */
  next(mapUri: string): { sequence: number; discontinuity: boolean; discontinuitySequence: number } {
    const last = this.segmentList[this.segmentList.length - 1];
    const discontinuity = last !== undefined && (this.gapPending || last.mapUri !== mapUri);
    const tagged = this.segmentList.slice(1).filter((s) => s.discontinuity).length + (discontinuity ? 1 : 0);
    return { sequence: this.mediaSequence + this.segmentList.length, discontinuity, discontinuitySequence: this.discontinuitySequence + tagged };
  }

  /** Appends a segment; a change of init section (a new run) or a pending gap adds a discontinuity. */
  append(segment: Omit<AssetSegment, 'discontinuity'>): void {
    if (this.ended) throw new Error(`cannot append ${segment.uri}: the playlist is closed (reopen it first)`);
    const last = this.segmentList[this.segmentList.length - 1];
    const discontinuity = last !== undefined && (this.gapPending || last.mapUri !== segment.mapUri);
    this.segmentList.push({ ...segment, discontinuity });
    this.gapPending = false;
    // RFC 8216 4.3.3.1: every EXTINF, rounded, must fit the target duration, which must never shrink.
    this.targetDuration = Math.max(this.targetDuration, Math.round(segment.durationSeconds));
  }

  /**
   * Drops the oldest segments until the rest fit in `windowSeconds` (at least the newest one stays);
   * returns the file names no longer referenced (segments, and init sections nothing uses any more).
   */
  trim(windowSeconds: number): string[] {
    let total = this.segmentList.reduce((sum, s) => sum + s.durationSeconds, 0);
    let drop = 0;
    while (drop < this.segmentList.length - 1 && total > windowSeconds) {
      total -= this.segmentList[drop].durationSeconds;
      drop++;
    }
    if (drop === 0) return [];
    const before = this.referencedFiles();
    // Discontinuity tags that leave the playlist are counted in EXT-X-DISCONTINUITY-SEQUENCE (RFC 8216
    // 6.2.1); the new first segment's own tag is among them, since nothing precedes it any more.
    const leavingTags = this.segmentList.slice(1, drop + 1).filter((s) => s.discontinuity).length;
    const [head, ...rest] = this.segmentList.slice(drop);
    this.segmentList = [{ ...head, discontinuity: false }, ...rest];
    this.mediaSequence += drop;
    this.discontinuitySequence += leavingTags;
    const after = this.referencedFiles();
    return [...before].filter((file) => !after.has(file));
  }

  /** Closes the playlist (EXT-X-ENDLIST): the program stopped, the asset is video on demand. */
  end(): void {
    this.ended = true;
  }

  /** Opens a closed playlist again for a restarted program; the next segment follows a discontinuity. */
  reopen(): void {
    if (!this.ended) return;
    this.ended = false;
    this.gapPending = this.segmentList.length > 0;
  }

  /** Every file the playlist refers to: segments and init sections. */
  referencedFiles(): Set<string> {
    const files = new Set<string>();
    for (const s of this.segmentList) {
      files.add(s.uri);
      if (s.mapUri) files.add(s.mapUri);
    }
    return files;
  }

  render(): string {
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      `#EXT-X-TARGETDURATION:${this.targetDuration}`,
      `#EXT-X-MEDIA-SEQUENCE:${this.mediaSequence}`,
      `#EXT-X-DISCONTINUITY-SEQUENCE:${this.discontinuitySequence}`,
      '#EXT-X-INDEPENDENT-SEGMENTS',
    ];
    let map: string | undefined;
    for (const s of this.segmentList) {
      if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
      if (s.mapUri !== map) {
        lines.push(`#EXT-X-MAP:URI="${s.mapUri}"`);
        map = s.mapUri;
      }
      if (s.programDateTimeMs !== undefined) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTimeMs).toISOString()}`);
      lines.push(`#EXTINF:${s.durationSeconds.toFixed(6)},`, s.uri);
    }
    if (this.ended) lines.push('#EXT-X-ENDLIST');
    return `${lines.join('\n')}\n`;
  }
}
