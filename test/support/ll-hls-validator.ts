/**
 * An LL-HLS media playlist checker for tests: the RFC 8216bis rules a low-latency playlist must keep,
 * one playlist at a time (part durations, hold back, parts listed before their segment, ...) and across
 * successive reloads (media sequence numbers and part numbering never change meaning, discontinuities
 * are counted). Returns the problems found, each naming the line or the URI.
 */

export interface ParsedPart {
  readonly uri: string;
  readonly duration: number;
  readonly independent: boolean;
}

export interface ParsedSegment {
  readonly uri: string;
  readonly msn: number;
  readonly discontinuitySequence: number;
  readonly duration: number;
  readonly parts: readonly ParsedPart[];
  readonly map?: string;
  /** An EXT-X-DISCONTINUITY precedes it. */
  readonly discontinuity: boolean;
}

export interface ParsedLowLatencyPlaylist {
  readonly targetDuration: number;
  readonly partTarget?: number;
  readonly serverControl: Record<string, string>;
  readonly mediaSequence: number;
  readonly skipped: number;
  readonly segments: readonly ParsedSegment[];
  /** Parts after the last complete segment (the segment being written), with its msn. */
  readonly writing: { readonly msn: number; readonly parts: readonly ParsedPart[] };
  readonly preloadHints: readonly string[];
  readonly renditionReports: readonly Record<string, string>[];
  readonly ended: boolean;
}

function attributes(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of value.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) out[match[1]] = match[2].replace(/^"|"$/g, '');
  return out;
}

export function parseLowLatencyPlaylist(text: string): ParsedLowLatencyPlaylist {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  let targetDuration = 0;
  let partTarget: number | undefined;
  let serverControl: Record<string, string> = {};
  let mediaSequence = 0;
  let discontinuitySequence = 0;
  let skipped = 0;
  let ended = false;
  let map: string | undefined;
  let pendingParts: ParsedPart[] = [];
  let pendingDuration: number | undefined;
  let pendingDiscontinuity = false;
  const segments: ParsedSegment[] = [];
  const preloadHints: string[] = [];
  const renditionReports: Record<string, string>[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    const tag = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1);
    if (!line.startsWith('#')) {
      if (pendingDiscontinuity && segments.length + skipped > 0) discontinuitySequence++;
      segments.push({ uri: line, msn: mediaSequence + skipped + segments.length, discontinuitySequence, duration: pendingDuration ?? NaN, parts: pendingParts, map, discontinuity: pendingDiscontinuity });
      pendingParts = [];
      pendingDuration = undefined;
      pendingDiscontinuity = false;
      continue;
    }
    switch (tag) {
      case '#EXT-X-TARGETDURATION': targetDuration = Number(value); break;
      case '#EXT-X-PART-INF': partTarget = Number(attributes(value)['PART-TARGET']); break;
      case '#EXT-X-SERVER-CONTROL': serverControl = attributes(value); break;
      case '#EXT-X-MEDIA-SEQUENCE': mediaSequence = Number(value); break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE': discontinuitySequence = Number(value); break;
      case '#EXT-X-SKIP': skipped = Number(attributes(value)['SKIPPED-SEGMENTS']); break;
      case '#EXT-X-DISCONTINUITY': pendingDiscontinuity = true; break;
      case '#EXT-X-MAP': map = attributes(value).URI; break;
      case '#EXTINF': pendingDuration = Number.parseFloat(value); break;
      case '#EXT-X-PART': {
        const a = attributes(value);
        pendingParts.push({ uri: a.URI, duration: Number(a.DURATION), independent: a.INDEPENDENT === 'YES' });
        break;
      }
      case '#EXT-X-PRELOAD-HINT': preloadHints.push(attributes(value).URI); break;
      case '#EXT-X-RENDITION-REPORT': renditionReports.push(attributes(value)); break;
      case '#EXT-X-ENDLIST': ended = true; break;
      default: break;
    }
  }
  return {
    targetDuration, partTarget, serverControl, mediaSequence, skipped, segments,
    writing: { msn: mediaSequence + skipped + segments.length, parts: pendingParts },
    preloadHints, renditionReports, ended,
  };
}

/** The problems of one LL-HLS media playlist. */
export function lowLatencyProblems(text: string): string[] {
  const p = parseLowLatencyPlaylist(text);
  const problems: string[] = [];
  const target = p.partTarget;
  if (target === undefined || !(target > 0)) return ['no EXT-X-PART-INF:PART-TARGET'];
  if (p.serverControl['CAN-BLOCK-RELOAD'] !== 'YES') problems.push('EXT-X-SERVER-CONTROL lacks CAN-BLOCK-RELOAD=YES');
  const holdBack = Number(p.serverControl['PART-HOLD-BACK']);
  if (!(holdBack >= 3 * target - 1e-9)) problems.push(`PART-HOLD-BACK ${p.serverControl['PART-HOLD-BACK']} is less than 3 x PART-TARGET (${target})`);
  const skipUntil = Number(p.serverControl['CAN-SKIP-UNTIL']);
  if (p.serverControl['CAN-SKIP-UNTIL'] !== undefined && !(skipUntil >= 6 * p.targetDuration)) problems.push(`CAN-SKIP-UNTIL ${skipUntil} is less than 6 target durations`);
  let partsStarted = false;
  p.segments.forEach((segment, i) => {
    const previous = p.segments[i - 1];
    if (previous && previous.map !== segment.map && !segment.discontinuity) problems.push(`${segment.uri}: a new init section without EXT-X-DISCONTINUITY`);
  });
  for (const segment of p.segments) {
    if (Math.round(segment.duration) > p.targetDuration) problems.push(`${segment.uri}: EXTINF ${segment.duration} exceeds TARGETDURATION ${p.targetDuration}`);
    if (segment.parts.length === 0) {
      if (partsStarted) problems.push(`${segment.uri}: a complete segment after segments with parts lists none`);
      continue;
    }
    partsStarted = true;
    problems.push(...partProblems(segment.parts, target, segment.uri));
    const sum = segment.parts.reduce((total, part) => total + part.duration, 0);
    if (Math.abs(sum - segment.duration) > 0.001 * segment.parts.length + 0.001) {
      problems.push(`${segment.uri}: its parts last ${sum.toFixed(5)} s but EXTINF says ${segment.duration} (not every part listed before it)`);
    }
  }
  problems.push(...partProblems(p.writing.parts, target, `segment ${p.writing.msn} (being written)`));
  if (p.preloadHints.length > 1) problems.push(`${p.preloadHints.length} EXT-X-PRELOAD-HINT tags of TYPE=PART`);
  return problems;
}

function partProblems(parts: readonly ParsedPart[], target: number, where: string): string[] {
  const problems: string[] = [];
  parts.forEach((part, index) => {
    if (part.duration > target + 1e-9) problems.push(`${where}: part ${part.uri} lasts ${part.duration} s, more than PART-TARGET ${target}`);
    // Each part but an independent one and the last of its segment lasts at least 85% of the part target.
    const last = index === parts.length - 1;
    if (part.duration < 0.85 * target && !part.independent && !last) problems.push(`${where}: part ${part.uri} lasts ${part.duration} s, less than 85% of PART-TARGET`);
  });
  return problems;
}

/**
 * Problems between two successive reloads of one playlist: a segment or part URI must keep its media
 * sequence number (and part index), and its discontinuity sequence number.
 */
export function continuityProblems(before: string, after: string): string[] {
  const a = parseLowLatencyPlaylist(before);
  const b = parseLowLatencyPlaylist(after);
  const problems: string[] = [];
  const index = (p: ParsedLowLatencyPlaylist) => {
    const byUri = new Map<string, string>();
    for (const s of p.segments) {
      byUri.set(s.uri, `${s.msn}/d${s.discontinuitySequence}`);
      s.parts.forEach((part, i) => byUri.set(part.uri, `${s.msn}.${i}`));
    }
    p.writing.parts.forEach((part, i) => byUri.set(part.uri, `${p.writing.msn}.${i}`));
    return byUri;
  };
  const first = index(a);
  for (const [uri, place] of index(b)) {
    const was = first.get(uri);
    if (was !== undefined && was !== place) problems.push(`${uri} was ${was} and is now ${place}`);
  }
  if (b.mediaSequence < a.mediaSequence) problems.push(`EXT-X-MEDIA-SEQUENCE went back from ${a.mediaSequence} to ${b.mediaSequence}`);
  return problems;
}
