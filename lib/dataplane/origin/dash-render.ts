/**
 * Rendering a DASH MPD from the same stored CMAF segments as HLS, as the DASH-IF interoperability
 * guidelines describe live services: one Period per transcoder run (one init section), one
 * AdaptationSet per media type, and per Representation a `SegmentTemplate` with a `SegmentTimeline`
 * whose `$Number$` is the segment's media sequence number in the stored playlist (the origin maps it
 * back to the stored file: see Packager.dashSegment). `S@t` is each fragment's earliest presentation
 * time (decode time + composition offset + edit list), as browsers place the samples.
 *
 * Timing of a live (dynamic) MPD. `availabilityStartTime` is the asset's start; each Period starts at
 * the wall-clock time of its run's media time 0 (program date time - decode time, exact to the
 * millisecond because ingest writes it so; see RunOutput), so every segment sits on the MPD timeline
 * at the wall-clock time it was captured, and nothing already published moves as the window slides
 * (the AST, Period@start and `presentationTimeOffset` never change between updates, as DASH-IF
 * requires). When the encoder reconnects, the previous Period gets a `duration` that ends with its
 * media, and the new one starts at its own wall-clock start: the time the encoder was away belongs to
 * no Period. Players keep the timeline's mapping to the wall clock across it (Shaka jumps the hole
 * once the new media is as old as its presentation delay; dash.js jumps from the Period's end to the
 * next one, see README). Laying the new Period where the old media ends instead would drift the
 * timeline from the wall clock by every absence, for good: players that start from the wall clock
 * (dash.js) would then aim past the newest segment, and the time shift buffer would slide off the
 * media. `timeShiftBufferDepth` is the locator's archive window; `suggestedPresentationDelay`: see
 * presentationDelaySeconds.
 */
import { StoredRendition } from '../../contract/storage-layout';

export interface DashSegment {
  /** Media sequence number in the stored playlist: the `$Number$` of the segment's URL. */
  readonly sequence: number;
  /** Earliest presentation time, in the run's timescale. */
  readonly time: number;
  /** Duration in the run's timescale. */
  readonly duration: number;
  /** `baseMediaDecodeTime` of the fragment: with the program date time, it anchors the run on the wall clock. */
  readonly decodeTime: number;
  readonly programDateTimeMs?: number;
}

/** The consecutive segments of one rendition that share an init section (one transcoder run). */
export interface DashRun {
  /** Init section file name in the rendition folder; also what names the run. */
  readonly mapUri: string;
  readonly timescale: number;
  readonly segments: readonly DashSegment[];
}

export interface DashRendition {
  readonly rendition: StoredRendition;
  readonly runs: readonly DashRun[];
}

export interface DashInput {
  readonly live: boolean;
  /** Wall-clock start of the asset (epoch ms): the MPD's availabilityStartTime, whole seconds. */
  readonly assetStartMs: number;
  readonly archiveWindowSeconds: number;
  readonly segmentDurationSeconds: number;
  readonly renditions: readonly DashRendition[];
  readonly nowMs: number;
}

interface PeriodPlan {
  readonly id: string;
  readonly mapUri: string;
  /** Seconds from availabilityStartTime (live) or from 0 (static), millisecond precision. */
  readonly startSeconds: number;
  /** Explicit duration (static presentations only). */
  readonly durationSeconds?: number;
  /** Media time (seconds, on every member's timeline) that sits at the Period's start. */
  readonly mediaStartSeconds: number;
  readonly members: readonly { readonly rendition: StoredRendition; readonly run: DashRun }[];
}

/**
 * Where the origin writes the time it sends the MPD (UTCTiming `direct`): rendered MPDs are reused for
 * a fraction of a second, and a clock taken at render time would put players' clocks behind by that.
 */
export const SEND_TIME_SLOT = '{{livestack:send-time}}';

/** URL of a DASH segment under the locator, relative to the MPD: `<rendition>/<init stem>/<number>.m4s`. */
export function dashSegmentPath(rendition: string, mapUri: string, number: number | '$Number$'): string {
  return `${rendition}/${initStem(mapUri)}/${number}.m4s`;
}

/** The init file name without its extension: the run's name in DASH segment URLs. */
export function initStem(mapUri: string): string {
  const dot = mapUri.lastIndexOf('.');
  return dot > 0 ? mapUri.slice(0, dot) : mapUri;
}

/** The MPD document. */
export function renderMpd(input: DashInput): string {
  const availabilityStartMs = Math.floor(input.assetStartMs / 1000) * 1000;
  const periods = input.live ? livePeriods(input, availabilityStartMs) : staticPeriods(input);
  const segment = input.segmentDurationSeconds;
  const head = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" minBufferTime="${duration(segment)}"`,
  ];
  if (input.live) {
    // New segments show up only in a new MPD (SegmentTimeline): players refresh twice a segment.
    const updatePeriod = Math.max(1, segment / 2);
    head.push(
      `     type="dynamic" availabilityStartTime="${isoSeconds(availabilityStartMs)}" publishTime="${isoSeconds(input.nowMs)}"`,
      `     minimumUpdatePeriod="${duration(updatePeriod)}" timeShiftBufferDepth="${duration(input.archiveWindowSeconds)}"`,
      `     suggestedPresentationDelay="${duration(presentationDelaySeconds(segment, updatePeriod))}">`,
    );
  } else {
    const total = periods.reduce((sum, p) => sum + (p.durationSeconds ?? 0), 0);
    head.push(`     type="static" mediaPresentationDuration="${duration(total)}">`);
  }
  const body = periods.map((period) => renderPeriod(period));
  const tail = input.live ? [`  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="${SEND_TIME_SLOT}"/>`] : [];
  return `${[...head, ...body, ...tail, '</MPD>'].join('\n')}\n`;
}

/**
 * How far behind the wall clock players should present: the segment being captured, one MPD refresh
 * (a segment is listed only once it is whole) and a second for ingest and the origin to publish it.
 * 7 s for 4-s segments: dash.js then sits about 8 s behind live, Shaka (which also keeps a segment's
 * duration from the live edge) about 11 s, as hls.js does at three target durations from the
 * playlist's end; and Shaka, which keeps that delay across an encoder's absence, plays the returning
 * encoder's media within two segments of its arrival.
 */
function presentationDelaySeconds(segmentSeconds: number, updatePeriodSeconds: number): number {
  return segmentSeconds + updatePeriodSeconds + 1;
}

/**
 * The runs every rendition has segments of, in order. A run some rendition has nothing of yet (its
 * first segments are still being recorded) or any more (its last ones left the window) is left out:
 * a Period's set of Representations must never change from one MPD update to the next.
 */
function completeRuns(input: DashInput): { mapUri: string; members: PeriodPlan['members'] }[] {
  const reference = referenceOf(input.renditions);
  if (!reference) return [];
  const runs: { mapUri: string; members: PeriodPlan['members'] }[] = [];
  for (const [index, run] of reference.runs.entries()) {
    const members = input.renditions.map((r) => ({ rendition: r.rendition, run: r === reference ? run : matchingRun(r.runs, run, index, reference.runs.length) }));
    if (members.every((m) => m.run !== undefined && m.run.segments.length > 0)) {
      runs.push({ mapUri: run.mapUri, members: members as PeriodPlan['members'] });
    }
  }
  return runs;
}

/**
 * Another rendition's part of the reference's run: the run with the same init file name (ingest
 * names them so), else the one that overlaps it most on the wall clock, else (no program date times)
 * the one at the same place when both renditions hold as many runs.
 */
function matchingRun(runs: readonly DashRun[], reference: DashRun, index: number, count: number): DashRun | undefined {
  const named = runs.find((r) => r.mapUri === reference.mapUri);
  if (named) return named;
  const span = wallClockSpan(reference);
  if (span) {
    let best: DashRun | undefined;
    let bestOverlap = 0;
    for (const run of runs) {
      const other = wallClockSpan(run);
      const overlap = other ? Math.min(other[1], span[1]) - Math.max(other[0], span[0]) : 0;
      if (overlap > bestOverlap) [best, bestOverlap] = [run, overlap];
    }
    if (best) return best;
  }
  return runs.length === count ? runs[index] : undefined;
}

/** Where a run's listed media lies on the wall clock (epoch ms), from its program date times. */
function wallClockSpan(run: DashRun): [number, number] | undefined {
  const anchorMs = runAnchorMs(run);
  if (anchorMs === undefined || run.segments.length === 0) return undefined;
  const last = run.segments[run.segments.length - 1];
  return [anchorMs + (run.segments[0].time * 1000) / run.timescale, anchorMs + ((last.time + last.duration) * 1000) / run.timescale];
}

/** The first video rendition (else the first one) decides where Periods start. */
function referenceOf(renditions: readonly DashRendition[]): DashRendition | undefined {
  return renditions.find((r) => r.rendition.type === 'video' && r.runs.length > 0) ?? renditions.find((r) => r.runs.length > 0);
}

function livePeriods(input: DashInput, availabilityStartMs: number): PeriodPlan[] {
  const plans: PeriodPlan[] = [];
  for (const { mapUri, members } of completeRuns(input)) {
    const anchorMs = runAnchorMs(referenceMember(members).run);
    if (anchorMs === undefined) continue;
    // Media time 0 of the run sits at anchorMs on the wall clock; a run that began before the asset
    // (a program started while the encoder was already live) starts its Period at 0 instead.
    const startMs = Math.max(0, anchorMs - availabilityStartMs);
    const previous = plans[plans.length - 1];
    if (previous && startMs <= previous.startSeconds * 1000) continue;
    if (previous) {
      // The previous run ended (an encoder reconnect): its Period ends where its media does, and the
      // time the encoder was away belongs to no Period.
      const endSeconds = roundMillis(mediaEndSeconds(previous));
      if (endSeconds > previous.startSeconds && endSeconds < startMs / 1000) {
        plans[plans.length - 1] = { ...previous, durationSeconds: roundMillis(endSeconds - previous.startSeconds) };
      }
    }
    plans.push({ id: initStem(mapUri), mapUri, startSeconds: startMs / 1000, mediaStartSeconds: (startMs - (anchorMs - availabilityStartMs)) / 1000, members });
  }
  return plans;
}

/** The first video member (else the first member): the one whose media decides where a Period starts and ends. */
function referenceMember(members: PeriodPlan['members']): PeriodPlan['members'][number] {
  return members.find((m) => m.rendition.type === 'video') ?? members[0];
}

/** Where a Period's reference media ends on the MPD timeline (seconds). */
function mediaEndSeconds(plan: PeriodPlan): number {
  const { run } = referenceMember(plan.members);
  const last = run.segments[run.segments.length - 1];
  return plan.startSeconds + (last.time + last.duration) / run.timescale - plan.mediaStartSeconds;
}

/**
 * Wall-clock time (epoch ms) of the run's media time 0: a segment's program date time minus its
 * decode time, floored to the millisecond exactly as ingest added it, so every segment of the run
 * gives the same answer and the Period stays put while the window slides.
 */
function runAnchorMs(run: DashRun): number | undefined {
  const dated = run.segments.find((s) => s.programDateTimeMs !== undefined);
  if (!dated) return undefined;
  return dated.programDateTimeMs! - Math.floor((dated.decodeTime * 1000) / run.timescale);
}

function staticPeriods(input: DashInput): PeriodPlan[] {
  const plans: PeriodPlan[] = [];
  let cursor = 0;
  for (const { mapUri, members } of completeRuns(input)) {
    const { run } = referenceMember(members);
    const mediaStartSeconds = run.segments[0].time / run.timescale;
    const plan: PeriodPlan = { id: initStem(mapUri), mapUri, startSeconds: roundMillis(cursor), mediaStartSeconds, members };
    const durationSeconds = roundMillis(mediaEndSeconds(plan) - plan.startSeconds);
    if (durationSeconds <= 0) continue;
    plans.push({ ...plan, durationSeconds });
    cursor += durationSeconds;
  }
  return plans;
}

function renderPeriod(period: PeriodPlan): string {
  const durationAttribute = period.durationSeconds === undefined ? '' : ` duration="${duration(period.durationSeconds)}"`;
  const out = [`  <Period id="${xml(period.id)}" start="${duration(period.startSeconds)}"${durationAttribute}>`];
  for (const type of ['video', 'audio'] as const) {
    const members = period.members.filter((m) => m.rendition.type === type);
    if (members.length === 0) continue;
    const mime = type === 'video' ? 'video/mp4' : 'audio/mp4';
    out.push(`    <AdaptationSet id="${type === 'video' ? 0 : 1}" contentType="${type}" mimeType="${mime}" segmentAlignment="true" startWithSAP="1">`);
    for (const member of members) out.push(...renderRepresentation(period, member.rendition, member.run));
    out.push('    </AdaptationSet>');
  }
  out.push('  </Period>');
  return out.join('\n');
}

function renderRepresentation(period: PeriodPlan, r: StoredRendition, run: DashRun): string[] {
  const attributes = [`id="${xml(r.name)}"`, `bandwidth="${r.bandwidth}"`, `codecs="${xml(r.codecs)}"`];
  if (r.width && r.height) attributes.push(`width="${r.width}"`, `height="${r.height}"`);
  if (r.frameRate) attributes.push(`frameRate="${frameRate(r.frameRate)}"`);
  if (r.sampleRate) attributes.push(`audioSamplingRate="${r.sampleRate}"`);
  const out = [`      <Representation ${attributes.join(' ')}>`];
  if (r.type === 'audio' && r.channels) {
    out.push(`        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${r.channels}"/>`);
  }
  const offset = Math.round(period.mediaStartSeconds * run.timescale);
  const template = [
    `timescale="${run.timescale}"`,
    `presentationTimeOffset="${offset}"`,
    `startNumber="${run.segments[0].sequence}"`,
    `initialization="${xml(`${r.name}/${run.mapUri}`)}"`,
    `media="${xml(dashSegmentPath(r.name, run.mapUri, '$Number$'))}"`,
  ];
  out.push(
    `        <SegmentTemplate ${template.join(' ')}>`,
    '          <SegmentTimeline>', ...timeline(run.segments), '          </SegmentTimeline>',
    '        </SegmentTemplate>',
    '      </Representation>',
  );
  return out;
}

/**
 * `<S>` elements, run-length coded; `t` where the timeline does not simply continue (the first
 * segment, and after a gap: a program stopped and started again while the encoder stayed on).
 * `$Number$` counts every S (and repeat), so numbers must not skip: a break in the sequence numbers
 * is a gap the stored playlist would never contain.
 */
function timeline(segments: readonly DashSegment[]): string[] {
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
    // S@t cannot be negative: AAC priming puts the first audio fragment of a run a few ms before 0.
    const time = Math.max(0, segment.time);
    const d = segment.duration - (time - segment.time);
    const continues = expected === time;
    if (run && continues && run.d === d) {
      run.r++;
    } else {
      flush();
      run = { t: continues ? undefined : time, d, r: 0 };
    }
    expected = time + d;
  }
  flush();
  return out;
}

/** xs:duration with millisecond precision, e.g. `PT12.345S`. */
function duration(seconds: number): string {
  return `PT${roundMillis(seconds).toFixed(3)}S`;
}

function roundMillis(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
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
