/**
 * Reading the HLS media playlists ingest stores (`assets/<asset>/<rendition>/index.m3u8`): the segment
 * list the origin repackages as HLS (windowed, maybe encrypted) and DASH. Only what packaging needs is
 * kept; a playlist that points outside its own folder is refused, not served.
 */

export interface StoredSegment {
  /** File name in the rendition folder. */
  readonly uri: string;
  readonly durationSeconds: number;
  /** Wall-clock time of the first sample (EXT-X-PROGRAM-DATE-TIME, extrapolated between tags). */
  readonly programDateTimeMs?: number;
  /** An EXT-X-DISCONTINUITY precedes this segment. */
  readonly discontinuity: boolean;
  /** Init section (EXT-X-MAP) in effect for this segment. */
  readonly mapUri?: string;
  /** Media sequence number. */
  readonly sequence: number;
  /** Absolute discontinuity sequence number this segment belongs to. */
  readonly discontinuitySequence: number;
}

export interface StoredPlaylist {
  readonly targetDurationSeconds: number;
  readonly endList: boolean;
  readonly segments: readonly StoredSegment[];
}

export class PlaylistError extends Error {}

const SAFE_FILE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

/** Whether `name` is a plain file name (no folder, no `..`, nothing to decode). */
export function isSafeFileName(name: string): boolean {
  return SAFE_FILE.test(name) && !name.includes('..');
}

/** Parses a stored fMP4 media playlist; `where` names the file in errors. */
export function parseMediaPlaylist(text: string, where: string): StoredPlaylist {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== '#EXTM3U') throw new PlaylistError(`${where}: not an HLS playlist (no #EXTM3U on the first line)`);
  let targetDuration = 0;
  let sequence = 0;
  let discontinuitySequence = 0;
  let endList = false;
  let mapUri: string | undefined;
  let pending: { duration?: number; pdt?: number; discontinuity: boolean } = { discontinuity: false };
  let nextPdt: number | undefined;
  const segments: StoredSegment[] = [];
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line === '') continue;
    if (!line.startsWith('#')) {
      if (pending.duration === undefined) throw new PlaylistError(`${where}:${index + 1}: segment ${line} has no #EXTINF`);
      if (!isSafeFileName(line)) throw new PlaylistError(`${where}:${index + 1}: segment URI ${JSON.stringify(line)} is not a file name in the rendition folder`);
      if (pending.discontinuity && segments.length > 0) discontinuitySequence++;
      const pdt = pending.pdt ?? (pending.discontinuity ? undefined : nextPdt);
      segments.push({
        uri: line,
        durationSeconds: pending.duration,
        programDateTimeMs: pdt,
        discontinuity: pending.discontinuity,
        mapUri,
        sequence: sequence++,
        discontinuitySequence,
      });
      nextPdt = pdt === undefined ? undefined : pdt + pending.duration * 1000;
      pending = { discontinuity: false };
      continue;
    }
    const colon = line.indexOf(':');
    const tag = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1);
    switch (tag) {
      case '#EXT-X-TARGETDURATION':
        targetDuration = Number(value);
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        sequence = integer(value, where, index);
        break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE':
        discontinuitySequence = integer(value, where, index);
        break;
      case '#EXT-X-ENDLIST':
        endList = true;
        break;
      case '#EXT-X-DISCONTINUITY':
        pending.discontinuity = true;
        break;
      case '#EXTINF': {
        const duration = Number.parseFloat(value);
        if (!Number.isFinite(duration) || duration < 0) throw new PlaylistError(`${where}:${index + 1}: bad #EXTINF duration ${JSON.stringify(value)}`);
        pending.duration = duration;
        break;
      }
      case '#EXT-X-PROGRAM-DATE-TIME': {
        const ms = Date.parse(value);
        if (Number.isFinite(ms)) pending.pdt = ms;
        break;
      }
      case '#EXT-X-MAP': {
        const uri = /URI="([^"]*)"/.exec(value)?.[1];
        if (!uri || !isSafeFileName(uri)) throw new PlaylistError(`${where}:${index + 1}: EXT-X-MAP URI ${JSON.stringify(uri)} is not a file name in the rendition folder`);
        if (/BYTERANGE=/.test(value)) throw new PlaylistError(`${where}:${index + 1}: byte-range init sections are not supported`);
        mapUri = uri;
        break;
      }
      case '#EXT-X-BYTERANGE':
        throw new PlaylistError(`${where}:${index + 1}: byte-range segments are not supported`);
      case '#EXT-X-KEY':
        throw new PlaylistError(`${where}:${index + 1}: stored segments must be clear (the origin encrypts on the way out)`);
      default:
        break;
    }
  }
  return { targetDurationSeconds: targetDuration, endList, segments };
}

/** The newest segments that fit in `windowSeconds` (at least one): the DVR depth of a live locator. */
export function windowed(playlist: StoredPlaylist, windowSeconds: number): StoredPlaylist {
  let total = 0;
  let first = playlist.segments.length;
  while (first > 0) {
    const next = total + playlist.segments[first - 1].durationSeconds;
    if (next > windowSeconds && first < playlist.segments.length) break;
    total = next;
    first--;
  }
  return first === 0 ? playlist : { ...playlist, segments: playlist.segments.slice(first) };
}

function integer(value: string, where: string, index: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new PlaylistError(`${where}:${index + 1}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}
