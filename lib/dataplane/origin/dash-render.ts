/**
 * Rendering a DASH MPD from the same stored CMAF segments as HLS: one Period per discontinuity group,
 * one AdaptationSet per media type, SegmentList + SegmentTimeline pointing at the stored files (so HLS
 * and DASH share URLs and caches). Live assets give a dynamic MPD whose timeShiftBufferDepth is the
 * archive window, anchored on wall-clock time (availabilityStartTime = epoch, Period@start = when media
 * time 0 was, from EXT-X-PROGRAM-DATE-TIME), so Periods stay put while the window slides. Stopped
 * assets give a static MPD starting at 0.
 */
import { StoredRendition } from '../../contract/storage-layout';

export interface TimedSegment {
  readonly uri: string;
  readonly mapUri?: string;
  /** Earliest presentation time in the rendition's timescale. */
  readonly time: number;
  /** Duration in the rendition's timescale. */
  readonly duration: number;
  readonly programDateTimeMs?: number;
  readonly discontinuitySequence: number;
}

export interface TimedRendition {
  readonly rendition: StoredRendition;
  readonly timescale: number;
  readonly segments: readonly TimedSegment[];
}

export interface DashInput {
  readonly live: boolean;
  readonly archiveWindowSeconds: number;
  readonly segmentDurationSeconds: number;
  readonly renditions: readonly TimedRendition[];
  readonly nowMs: number;
}

interface PeriodPlan {
  readonly id: number;
  /** Seconds from availabilityStartTime (live) or from the start of the presentation (static). */
  readonly startSeconds: number;
  readonly durationSeconds: number;
}

/** The MPD document. */
export function renderMpd(input: DashInput): string {
  const periods = planPeriods(input);
  const totalSeconds = periods.reduce((sum, p) => sum + p.durationSeconds, 0);
  const head = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-main:2011" minBufferTime="${duration(input.segmentDurationSeconds)}"`,
  ];
  if (input.live) {
    head.push(
      `     type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z" publishTime="${isoSeconds(input.nowMs)}"`,
      `     minimumUpdatePeriod="${duration(input.segmentDurationSeconds)}" timeShiftBufferDepth="${duration(input.archiveWindowSeconds)}"`,
      `     suggestedPresentationDelay="${duration(input.segmentDurationSeconds * 3)}">`,
    );
  } else {
    head.push(`     type="static" mediaPresentationDuration="${duration(totalSeconds)}">`);
  }
  const body = periods.map((period) => renderPeriod(input, period));
  const tail = input.live ? [`  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="${isoSeconds(input.nowMs)}"/>`] : [];
  return `${[...head, ...body, ...tail, '</MPD>'].join('\n')}\n`;
}

function planPeriods(input: DashInput): PeriodPlan[] {
  // The first video rendition (else the first rendition) decides Period boundaries.
  const reference = input.renditions.find((r) => r.rendition.type === 'video' && r.segments.length > 0)
    ?? input.renditions.find((r) => r.segments.length > 0);
  if (!reference) return [];
  const groups = groupByPeriod(reference.segments);
  const plans: PeriodPlan[] = [];
  let cursor = 0;
  for (const [id, segments] of groups) {
    const durationSeconds = segments.reduce((sum, s) => sum + s.duration, 0) / reference.timescale;
    let startSeconds = cursor;
    const first = segments[0];
    if (input.live && first.programDateTimeMs !== undefined) {
      // Wall-clock time of media time 0 in this group: stable while the window slides.
      startSeconds = Math.round(first.programDateTimeMs - (first.time * 1000) / reference.timescale) / 1000;
    }
    plans.push({ id, startSeconds, durationSeconds });
    cursor = startSeconds + durationSeconds;
  }
  return plans;
}

function renderPeriod(input: DashInput, period: PeriodPlan): string {
  const out = [`  <Period id="p${period.id}" start="${duration(period.startSeconds)}">`];
  for (const type of ['video', 'audio'] as const) {
    const members = input.renditions
      .filter((r) => r.rendition.type === type)
      .map((r) => ({ timed: r, segments: r.segments.filter((s) => s.discontinuitySequence === period.id) }))
      .filter((m) => m.segments.length > 0);
    if (members.length === 0) continue;
    const mime = type === 'video' ? 'video/mp4' : 'audio/mp4';
    out.push(`    <AdaptationSet id="${type === 'video' ? 0 : 1}" contentType="${type}" mimeType="${mime}" segmentAlignment="true" startWithSAP="1">`);
    for (const { timed, segments } of members) out.push(...renderRepresentation(input, timed, segments));
    out.push('    </AdaptationSet>');
  }
  out.push('  </Period>');
  return out.join('\n');
}

function renderRepresentation(input: DashInput, timed: TimedRendition, segments: readonly TimedSegment[]): string[] {
  const r = timed.rendition;
  const attributes = [`id="${xml(r.name)}"`, `bandwidth="${r.bandwidth}"`, `codecs="${xml(r.codecs)}"`];
  if (r.width && r.height) attributes.push(`width="${r.width}"`, `height="${r.height}"`);
  if (r.frameRate) attributes.push(`frameRate="${frameRate(r.frameRate)}"`);
  if (r.sampleRate) attributes.push(`audioSamplingRate="${r.sampleRate}"`);
  // Static presentations start at 0: the first fragment's media time is the offset. Live Periods start
  // at media time 0 (see planPeriods).
  const offset = input.live ? 0 : segments[0].time;
  const out = [`      <Representation ${attributes.join(' ')}>`];
  if (r.type === 'audio' && r.channels) {
    out.push(`        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${r.channels}"/>`);
  }
  out.push(`        <SegmentList timescale="${timed.timescale}" presentationTimeOffset="${offset}">`);
  const init = segments[0].mapUri;
  if (init) out.push(`          <Initialization sourceURL="${xml(r.name)}/${xml(init)}"/>`);
  out.push('          <SegmentTimeline>', ...timeline(segments), '          </SegmentTimeline>');
  for (const segment of segments) out.push(`          <SegmentURL media="${xml(r.name)}/${xml(segment.uri)}"/>`);
  out.push('        </SegmentList>', '      </Representation>');
  return out;
}

/** `<S>` elements, run-length coded: `t` only where the timeline does not simply continue. */
function timeline(segments: readonly TimedSegment[]): string[] {
  const out: string[] = [];
  let run: { t?: number; d: number; r: number } | undefined;
  let expected: number | undefined;
  const flush = () => {
    if (!run) return;
    const t = run.t === undefined ? '' : ` t="${run.t}"`;
    const r = run.r > 0 ? ` r="${run.r}"` : '';
    out.push(`            <S${t} d="${run.d}"${r}/>`);
  };
  for (const segment of segments) {
    const continues = expected === segment.time;
    if (run && continues && run.d === segment.duration) {
      run.r++;
    } else {
      flush();
      run = { t: continues ? undefined : segment.time, d: segment.duration, r: 0 };
    }
    expected = segment.time + segment.duration;
  }
  flush();
  return out;
}

function groupByPeriod(segments: readonly TimedSegment[]): Map<number, TimedSegment[]> {
  const groups = new Map<number, TimedSegment[]>();
  for (const segment of segments) {
    const group = groups.get(segment.discontinuitySequence);
    if (group) group.push(segment);
    else groups.set(segment.discontinuitySequence, [segment]);
  }
  return groups;
}

/** xs:duration with millisecond precision, e.g. `PT12.345S`. */
function duration(seconds: number): string {
  return `PT${(Math.round(seconds * 1000) / 1000).toFixed(3)}S`;
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function frameRate(fps: number): string {
  return Number.isInteger(fps) ? String(fps) : `${Math.round(fps * 1000)}/1000`;
}

function xml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
