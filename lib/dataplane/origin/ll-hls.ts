/**
 * LL-HLS (RFC 8216bis) for a low-latency recording, pure: the stored playlist (complete segments)
 * merged with the rendition's live edge (the newest segments' parts and the segment being written),
 * the answer to a blocking playlist request (`_HLS_msn`, `_HLS_part`), and the media playlist with
 * EXT-X-PART, EXT-X-PRELOAD-HINT, EXT-X-RENDITION-REPORT, EXT-X-SERVER-CONTROL and delta updates
 * (`_HLS_skip`, EXT-X-SKIP).
 *
 * A part is a byte range of its segment's file; its URI is the segment's with `.part<i>` before the
 * extension (`<run>-seg-7.part2.m4s`), served by the origin from the range (packager.part()).
 */
import { LivePart, LiveEdge, LiveSegment } from '../../contract/storage-layout';
import { StoredPlaylist, StoredSegment } from '../media-playlist';
import { EnvelopeTags, openingTags, OpeningState, TOKEN_SLOT } from './hls-render';

/** A segment of the merged playlist: stored or from the live edge, with its parts when known. */
export interface LowLatencySegment extends StoredSegment {
  readonly parts?: readonly LivePart[];
}

export interface LowLatencyPlaylist {
  readonly targetDurationSeconds: number;
  readonly partTargetSeconds: number;
  /** Complete segments, oldest first. */
  readonly segments: readonly LowLatencySegment[];
  /** The segment being written, with the parts written so far. */
  readonly writing?: LiveSegment;
}

/** What a blocking playlist request gets: the playlist now, a wait, or a refusal (RFC 8216bis 6.2.5.2). */
export type BlockingVerdict = { readonly kind: 'ready' } | { readonly kind: 'wait' } | { readonly kind: 'refuse'; readonly status: 400; readonly reason: string };

export interface RenditionReport {
  /** URI relative to this playlist (TOKEN_SLOT appended by the caller's rendering). */
  readonly uri: string;
  readonly lastMsn: number;
  readonly lastPart?: number;
}

const PART_FILE = /^(.+)\.part(\d{1,4})\.(m4s)$/;

/** URI of part `index` of a segment file. */
export function partUri(segmentUri: string, index: number): string {
  const dot = segmentUri.lastIndexOf('.');
  return `${segmentUri.slice(0, dot)}.part${index}${segmentUri.slice(dot)}`;
}

/** The segment file and part index a part URI names, or undefined for any other file. */
export function parsePartUri(file: string): { segmentUri: string; index: number } | undefined {
  const match = PART_FILE.exec(file);
  return match ? { segmentUri: `${match[1]}.${match[3]}`, index: Number(match[2]) } : undefined;
}

/**
 * The stored playlist (already windowed) with the live edge laid over its newest segments. Undefined
 * when the two do not meet (the live edge is of another recording, or the stored copy is too old),
 * and for a closed playlist: then players get the plain playlist.
 */
export function mergeLiveEdge(stored: StoredPlaylist, edge: LiveEdge | undefined): LowLatencyPlaylist | undefined {
  if (!edge || stored.endList || edge.segments.length === 0) return undefined;
  const first = edge.segments[0].sequence;
  const kept = stored.segments.filter((s) => s.sequence < first);
  const previous = kept[kept.length - 1];
  // The live edge must continue what is stored, or cover all of it (a recording's first segments).
  const storedFirst = stored.segments[0]?.sequence ?? first;
  if (previous ? previous.sequence !== first - 1 : storedFirst < first) return undefined;
  const complete: LowLatencySegment[] = [...kept];
  let writing: LiveSegment | undefined;
  for (const segment of edge.segments.filter((s) => s.sequence >= storedFirst)) {
    if (!segment.complete) {
      writing = segment;
      break;
    }
    complete.push({
      uri: segment.uri,
      durationSeconds: segment.durationSeconds,
      programDateTimeMs: segment.programDateTimeMs,
      discontinuity: segment.discontinuity,
      mapUri: segment.mapUri,
      sequence: segment.sequence,
      discontinuitySequence: segment.discontinuitySequence,
      parts: segment.parts,
    });
  }
  if (complete.length === 0) return undefined;
  if (writing && writing.sequence !== complete[complete.length - 1].sequence + 1) writing = undefined;
  const longest = complete.reduce((max, s) => Math.max(max, s.durationSeconds), 0);
  return {
    targetDurationSeconds: Math.max(stored.targetDurationSeconds, Math.round(longest), 1),
    partTargetSeconds: edge.partTargetSeconds,
    segments: complete,
    writing,
  };
}

/** Media sequence number and part index of the newest part (EXT-X-RENDITION-REPORT's LAST-MSN, LAST-PART). */
export function lastPartOf(playlist: LowLatencyPlaylist): { msn: number; part?: number } {
  if (playlist.writing && playlist.writing.parts.length > 0) return { msn: playlist.writing.sequence, part: playlist.writing.parts.length - 1 };
  const last = playlist.segments[playlist.segments.length - 1];
  return { msn: last.sequence, part: last.parts && last.parts.length > 0 ? last.parts.length - 1 : undefined };
}

/**
 * Whether a blocking request for segment `msn` (complete) or part `part` of it can be answered from
 * `playlist`. A part index past the end of a complete segment means the next segment's first part.
 * Requests too far ahead are refused at once: a segment more than two past the last complete one, a
 * part further ahead than a segment's worth of parts.
 */
export function blockingVerdict(playlist: LowLatencyPlaylist, msn: number, part: number | undefined): BlockingVerdict {
  const lastComplete = playlist.segments[playlist.segments.length - 1].sequence;
  if (msn > lastComplete + 2) {
    return { kind: 'refuse', status: 400, reason: `_HLS_msn=${msn} is more than two segments past the last one (${lastComplete})` };
  }
  if (part === undefined) return msn <= lastComplete ? { kind: 'ready' } : { kind: 'wait' };
  const partsPerSegment = Math.ceil(playlist.targetDurationSeconds / playlist.partTargetSeconds) + 1;
  if (part > partsPerSegment * 2) {
    return { kind: 'refuse', status: 400, reason: `_HLS_part=${part} is further ahead than a segment has parts (${partsPerSegment})` };
  }
  return partPresent(playlist, msn, part) ? { kind: 'ready' } : { kind: 'wait' };
}

function partPresent(playlist: LowLatencyPlaylist, msn: number, part: number): boolean {
  const lastComplete = playlist.segments[playlist.segments.length - 1].sequence;
  if (msn <= lastComplete) {
    // Every part of a complete segment exists; a part past its last one is the next segment's first.
    const count = playlist.segments.find((s) => s.sequence === msn)?.parts?.length;
    return count === undefined || part < count || partPresent(playlist, msn + 1, 0);
  }
  const writing = playlist.writing;
  return writing !== undefined && writing.sequence === msn && part < writing.parts.length;
}

export interface LowLatencyRenderOptions {
  readonly envelope?: EnvelopeTags;
  /** Delta update: segments older than CAN-SKIP-UNTIL are replaced by EXT-X-SKIP. */
  readonly skip: boolean;
  readonly reports: readonly RenditionReport[];
}

/**
 * CAN-SKIP-UNTIL: RFC 8216bis asks for at least six target durations; delta updates then carry the
 * last six target durations of segments plus the parts.
 */
export function canSkipUntilSeconds(targetDurationSeconds: number): number {
  return 6 * targetDurationSeconds;
}

/** PART-HOLD-BACK: three part targets, the least RFC 8216bis recommends; players start that far from the last part. */
export function partHoldBackSeconds(partTargetSeconds: number): number {
  return Number((3 * partTargetSeconds).toFixed(3));
}

export function renderLowLatencyPlaylist(playlist: LowLatencyPlaylist, options: LowLatencyRenderOptions): string {
  const { segments, writing, targetDurationSeconds: target, partTargetSeconds: partTarget } = playlist;
  const first = segments[0];
  const skipUntil = canSkipUntilSeconds(target);
  const out = [
    '#EXTM3U',
    '#EXT-X-VERSION:9',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${partHoldBackSeconds(partTarget)},CAN-SKIP-UNTIL=${skipUntil}`,
    `#EXT-X-PART-INF:PART-TARGET=${partTarget}`,
    `#EXT-X-MEDIA-SEQUENCE:${first.sequence}`,
  ];
  if (first.discontinuitySequence > 0) out.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${first.discontinuitySequence}`);
  out.push('#EXT-X-INDEPENDENT-SEGMENTS');

  // From the end: how much media follows each segment; parts are listed for the last three target
  // durations, delta updates leave out what lies more than CAN-SKIP-UNTIL back.
  const after: number[] = new Array(segments.length);
  let tail = writing?.durationSeconds ?? 0;
  for (let i = segments.length - 1; i >= 0; i--) {
    after[i] = tail;
    tail += segments[i].durationSeconds;
  }
  let start = 0;
  if (options.skip) {
    while (start < segments.length - 1 && after[start] + segments[start].durationSeconds > skipUntil) start++;
    if (start > 0) out.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${start}`);
  }
  const tags: OpeningState = {};
  const opening = (segment: LowLatencySegment | LiveSegment, first: boolean) => out.push(...openingTags(segment, first, tags, options.envelope));
  const partLines = (segmentUri: string, parts: readonly LivePart[]) => parts.map((p, index) =>
    `#EXT-X-PART:DURATION=${p.durationSeconds.toFixed(5)},URI="${partUri(segmentUri, index)}"${p.independent ? ',INDEPENDENT=YES' : ''}`);
  for (let i = start; i < segments.length; i++) {
    const segment = segments[i];
    opening(segment, segment === first);
    if (segment.parts && after[i] < 3 * target) out.push(...partLines(segment.uri, segment.parts));
    out.push(`#EXTINF:${segment.durationSeconds.toFixed(6)},`, segment.uri);
  }
  if (writing) {
    opening(writing, false);
    out.push(...partLines(writing.uri, writing.parts));
    out.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partUri(writing.uri, writing.parts.length)}"`);
  } else {
    const next = nextSegmentUri(segments[segments.length - 1].uri);
    if (next) out.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partUri(next, 0)}"`);
  }
  for (const report of options.reports) {
    out.push(`#EXT-X-RENDITION-REPORT:URI="${report.uri}${TOKEN_SLOT}",LAST-MSN=${report.lastMsn}${report.lastPart !== undefined ? `,LAST-PART=${report.lastPart}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

/** The file name the transcoder gives the segment after `uri` (`<run>-seg-<n>.m4s`), if it follows that pattern. */
export function nextSegmentUri(uri: string): string | undefined {
  const named = segmentNumber(uri);
  return named && `${named.run}${named.number + 1}.m4s`;
}

/** The run prefix (`<run>-seg-`) and number of a segment file name, if it follows the transcoder's pattern. */
function segmentNumber(uri: string): { run: string; number: number } | undefined {
  const match = /^(.*-seg-)(\d+)\.m4s$/.exec(uri);
  return match ? { run: match[1], number: Number(match[2]) } : undefined;
}

/** What a request for a part gets from the live edge as this origin sees it now. */
export type PartVerdict =
  | { readonly kind: 'ready'; readonly part: LivePart }
  | { readonly kind: 'wait' }
  | { readonly kind: 'gone'; readonly reason: string };

/**
 * A part the live edge lists is ready. One it does not list yet is waited for while it can still come:
 * a later part of the segment being written, or a part of one of the two segments after the newest this
 * origin knows (the playlist that named it may come from another replica, or from a change this one has
 * not read yet), within `maxParts` parts of its segment's start. A part past the end of a complete
 * segment, of an older segment or of another run never comes.
 */
export function partVerdict(segments: readonly LiveSegment[], segmentUri: string, index: number, maxParts: number): PartVerdict {
  const segment = segments.find((s) => s.uri === segmentUri);
  const part = segment?.parts[index];
  if (part) return { kind: 'ready', part };
  if (index >= maxParts) return { kind: 'gone', reason: `a segment has at most ${maxParts} parts` };
  if (segment) return segment.complete ? { kind: 'gone', reason: `its segment is complete with ${segment.parts.length} parts` } : { kind: 'wait' };
  const named = segmentNumber(segmentUri);
  const newest = segments.length > 0 ? segmentNumber(segments[segments.length - 1].uri) : undefined;
  const ahead = named && newest && named.run === newest.run ? named.number - newest.number : 0;
  return ahead >= 1 && ahead <= 2 ? { kind: 'wait' } : { kind: 'gone', reason: 'its segment is not at the live edge' };
}
