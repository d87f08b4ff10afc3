/**
 * The ffmpeg command line of a channel's transcoder: one place decides how livestack encodes, so the
 * workload and bench/transcode run exactly the same arguments.
 *
 * Output is CMAF (fMP4), one folder per rendition: video renditions carry video only and one `audio`
 * rendition carries the sound, which is what the origin packages as HLS and DASH. A standard channel
 * uses ffmpeg's HLS muxer (whole segments, listed in its playlist); a low-latency channel gives each
 * rendition its own DASH muxer in streaming mode, which writes every fragment (moof + mdat, a partial
 * segment) to the segment file as soon as it is complete (`seg-<n>.m4s.tmp`, renamed when the segment
 * ends): chunked CMAF that the workload lists as LL-HLS parts (see chunked-run-output.ts).
 */
import * as path from 'node:path';
import { Encoding, LatencyMode } from '../../model/manifest';

/** Rendition folder of a passthrough channel's video (the encoder's own stream). */
export const PASSTHROUGH_RENDITION = 'source';

/**
 * Fragment duration asked of ffmpeg in low-latency mode. ffmpeg closes a fragment at the first frame at
 * or after this much media time, so a fragment lasts less than this plus one frame: 0.3 s at 30 or
 * 60 fps, 0.32 s at 25 fps, 0.299 s of AAC at 48 kHz, all within the part target.
 */
export const LOW_LATENCY_FRAGMENT_SECONDS = 0.29;

/** Segment file names of the low-latency (DASH muxer) output; `$Number$` counts from 1. */
export const CHUNKED_RUN_FILES = {
  init: 'init.mp4',
  segmentTemplate: 'seg-$Number$.m4s',
  manifest: 'manifest.mpd',
  /** Suffix of the segment being written (ffmpeg renames it when the segment is complete). */
  writingSuffix: '.tmp',
} as const;

/** File names ffmpeg writes in every rendition folder of a run. */
export const RUN_FILES = {
  playlist: 'index.m3u8',
  segmentPattern: 'seg-%d.m4s',
  init: 'init.mp4',
} as const;

/**
 * Upper bound of the input frame rate used to size x264's GOP. Key frames come from
 * `-force_key_frames` at the key frame interval; a GOP this long only stops x264 from adding its own.
 */
const MAX_FRAME_RATE = 60;

/** Timescale of low-latency video tracks: one tick a microsecond, the unit browsers keep media time in. */
const VIDEO_TIMESCALE = 1_000_000;

/** Segments ffmpeg keeps listed in its own playlist: the workload reads it several times a segment. */
const RUN_PLAYLIST_LENGTH = 30;

export interface RenditionPlan {
  readonly name: string;
  readonly type: 'video' | 'audio';
  /** Nominal bits per second (before any segment is measured), when the ladder says. */
  readonly nominalBitrate?: number;
}

export interface TranscodeJob {
  /**
   * What ffmpeg reads: a file (bench), the private ffconcat file that names the channel's internal
   * stream (see inputListing), or `pipe:0` (an SRT publisher's MPEG-TS).
   */
  readonly input: string;
  /** Input options before `-i`, e.g. `concatInputArgs()` for an ffconcat listing. @default - none */
  readonly inputArgs?: readonly string[];
  /**
   * Format of the input when ffmpeg cannot tell it from its name (`mpegts` on a pipe); MPEG-TS also
   * needs AAC's ADTS headers stripped in passthrough. @default - probed
   */
  readonly inputFormat?: 'mpegts';
  readonly encoding: Encoding;
  readonly keyFrameIntervalSeconds: number;
  readonly segmentDurationSeconds: number;
  /** Folder of this run: `<rendition>/index.m3u8`, `<rendition>/init_<n>.mp4`, `<rendition>/seg-<n>.m4s`. */
  readonly outputDir: string;
  /** Report progress as key=value blocks on stdout every second (frame counts for input frame rate). */
  readonly progress?: boolean;
  /** @default 'warning' */
  readonly logLevel?: string;
  /** `low` writes chunked CMAF (see the module comment). @default 'standard' */
  readonly latency?: LatencyMode;
}

/** Name of the audio rendition: `audio`, unless a video rung already took that name. */
export function audioRenditionName(encoding: Encoding): string {
  const taken = encoding.type === 'standard' ? new Set(encoding.ladder.map((r) => r.name)) : new Set([PASSTHROUGH_RENDITION]);
  return taken.has('audio') ? 'audio-main' : 'audio';
}

/** The renditions a channel produces, video first (highest rung first), then the one audio rendition. */
export function renditionPlan(encoding: Encoding): RenditionPlan[] {
  const audio: RenditionPlan = {
    name: audioRenditionName(encoding),
    type: 'audio',
    nominalBitrate: encoding.type === 'standard' ? encoding.audioBitrateKbps * 1000 : undefined,
  };
  if (encoding.type === 'passthrough') return [{ name: PASSTHROUGH_RENDITION, type: 'video' }, audio];
  return [...encoding.ladder.map((rung) => ({ name: rung.name, type: 'video' as const, nominalBitrate: rung.videoBitrateKbps * 1000 })), audio];
}

/**
 * An ffconcat listing of one URL: how the transcoder names its input without putting it on its command
 * line. The URL carries the play token, and /proc/PID/cmdline is readable by every local user; the
 * listing is a 0600 file in a 0700 folder, readable by the workload's user only.
 */
export function inputListing(url: string): string {
  if (/['\n\r\\]/.test(url)) throw new Error('transcoder input URL: quotes, backslashes and line breaks cannot be listed');
  return `ffconcat version 1.0\nfile '${url}'\n`;
}

/**
 * Input options that read an `inputListing` file: `-safe 0` admits the URL (concat refuses URLs by
 * default). Passthrough stores the encoder's packets bit for bit, so concat must not rewrite H.264 to
 * Annex B there (`-auto_convert 0`); a ladder decodes them, and keeps concat's default, the form its
 * end-to-end suite was verified with.
 */
export function concatInputArgs(encoding: Encoding): string[] {
  return ['-f', 'concat', '-safe', '0', ...(encoding.type === 'passthrough' ? ['-auto_convert', '0'] : []), '-protocol_whitelist', 'file,rtmp,tcp'];
}

/**
 * How long ffmpeg probes an MPEG-TS pipe (an SRT publisher) before its first output, in microseconds.
 * MPEG-TS has no header, so ffmpeg reads for its whole analyze duration whatever it has found: 5 s by
 * default, which made SRT runs start about 5 s after RTMP's. One second holds the SPS/PPS and first
 * key frame of an encoder that starts with one (ffmpeg and OBS do) and enough frames to measure the
 * frame rate; what the probe reads is kept and transcoded, so no frame of the start is lost.
 */
const PIPE_ANALYZE_MICROSECONDS = 1_000_000;

function inputArgs(job: TranscodeJob): string[] {
  return [
    ...(job.inputArgs ?? []),
    ...(job.inputFormat ? ['-f', job.inputFormat] : []),
    ...(job.inputFormat === 'mpegts' ? ['-analyzeduration', String(PIPE_ANALYZE_MICROSECONDS)] : []),
    '-i', job.input,
  ];
}

/** argv (without `ffmpeg`) of a transcoder run. */
export function transcodeArgs(job: TranscodeJob): string[] {
  if (job.latency === 'low') return chunkedTranscodeArgs(job);
  const renditions = renditionPlan(job.encoding);
  const videoCount = renditions.length - 1;
  const streamMap = renditions.map((r, index) => (r.type === 'video' ? `v:${index},name:${r.name}` : `a:0,name:${r.name}`)).join(' ');
  return [
    '-hide_banner', '-nostdin', '-loglevel', job.logLevel ?? 'warning',
    ...(job.progress ? ['-nostats', '-progress', 'pipe:1', '-stats_period', '1'] : []),
    ...inputArgs(job),
    ...(job.encoding.type === 'passthrough' ? passthroughCodecArgs(job) : standardCodecArgs(job, videoCount)),
    '-f', 'hls',
    '-hls_time', formatSeconds(job.segmentDurationSeconds),
    '-hls_list_size', String(RUN_PLAYLIST_LENGTH),
    '-hls_segment_type', 'fmp4',
    // temp_file: ffmpeg renames finished files into place, so the workload never reads half a playlist.
    // (PROGRAM-DATE-TIME is the workload's to write: see RunOutput.)
    '-hls_flags', 'independent_segments+temp_file',
    '-hls_fmp4_init_filename', RUN_FILES.init,
    '-hls_segment_filename', path.join(job.outputDir, '%v', RUN_FILES.segmentPattern),
    '-var_stream_map', streamMap,
    path.join(job.outputDir, '%v', RUN_FILES.playlist),
  ];
}

/**
 * Low latency: one DASH muxer per rendition (so each writes into its own folder), in streaming mode with
 * fragments of LOW_LATENCY_FRAGMENT_SECONDS. x264 is tuned for zero latency: without look-ahead and
 * B-frames a frame leaves the encoder as soon as it is encoded.
 */
function chunkedTranscodeArgs(job: TranscodeJob): string[] {
  const renditions = renditionPlan(job.encoding);
  const encoding = job.encoding;
  const dash = (rendition: string, muxerOptions: readonly string[] = []) => [
    ...muxerOptions,
    '-f', 'dash', '-streaming', '1', '-ldash', '0', '-write_prft', '0',
    '-seg_duration', formatSeconds(job.segmentDurationSeconds),
    '-frag_type', 'duration', '-frag_duration', String(LOW_LATENCY_FRAGMENT_SECONDS),
    // Without a timeline, segment n ends at the first frame at or after n segment durations from the
    // stream's start; with one, each segment lasts at least a segment duration from the last cut, so
    // audio (whose frames do not divide 2 s) drifts a frame a segment away from video.
    '-use_template', '1', '-use_timeline', '0', '-window_size', '0',
    '-init_seg_name', CHUNKED_RUN_FILES.init, '-media_seg_name', CHUNKED_RUN_FILES.segmentTemplate,
    path.join(job.outputDir, rendition, CHUNKED_RUN_FILES.manifest),
  ];
  const head = [
    '-hide_banner', '-nostdin', '-loglevel', job.logLevel ?? 'warning',
    ...(job.progress ? ['-nostats', '-progress', 'pipe:1', '-stats_period', '1'] : []),
    // Read the input as it comes: no probing buffer beyond what the stream needs to start. (Not on a
    // pipe: nobuffer discards what the probe read, the publisher's first second; see inputArgs.)
    ...(job.inputFormat === 'mpegts' ? [] : ['-fflags', 'nobuffer']),
    ...inputArgs(job),
  ];
  const audio = renditions[renditions.length - 1];
  // No edit list on audio: the AAC encoder's priming frame would otherwise be shifted 1024 samples
  // before the decode time (elst media_time 1024), and browsers present it so. Every audio part would
  // then play 21 ms earlier than the playlist says; at the last part of a segment hls.js saw its buffer
  // end inside that part and loaded it again and again instead of the next segment's first part, until
  // playback stalled (and hls.js added a second to its target latency). Without it the media timeline is
  // the decode timeline the playlists are built from (the priming frame plays as 21 ms of silence).
  const audioMuxer = ['-format_options', 'use_editlist=0'];
  // Video in microseconds: browsers keep media time in whole microseconds and Chromium truncates each
  // frame's time into them, so at 30 fps (a frame lasts 33333.3 us) the frame before a segment boundary
  // ended 1 us short of it in the browser's buffered ranges (1.999999 s). Next to the live edge hls.js
  // then found that buffer end still inside the segment it had played, loaded its parts again and again
  // until the playlist grew, and stalled (raising its target latency by a second). With a timescale of
  // 1 000 000 every frame starts on a whole microsecond (durations 33333 and 33334 that add up exactly)
  // and each boundary falls where the playlist says.
  const videoMuxer = ['-format_options', `video_track_timescale=${VIDEO_TIMESCALE}`];
  if (encoding.type === 'passthrough') {
    return [
      ...head, '-map', '0:v:0', '-c', 'copy', ...mp4TagArgs(job, 'v', 'avc1'), ...dash(PASSTHROUGH_RENDITION, videoMuxer),
      '-map', '0:a:0', '-c', 'copy', ...mp4TagArgs(job, 'a', 'mp4a'), ...adtsArgs(job), ...dash(audio.name, audioMuxer),
    ];
  }
  const kfi = job.keyFrameIntervalSeconds;
  const gop = String(Math.ceil(kfi * MAX_FRAME_RATE));
  const videoCount = encoding.ladder.length;
  const split = videoCount === 1 ? '[0:v]null[s0]' : `[0:v]split=${videoCount}${encoding.ladder.map((_r, i) => `[s${i}]`).join('')}`;
  const scales = encoding.ladder.map((r, i) => `[s${i}]scale=${r.width}:${r.height}[v${i}]`);
  return [
    ...head,
    '-filter_complex', [split, ...scales].join(';'),
    ...encoding.ladder.flatMap((r, i) => [
      '-map', `[v${i}]`,
      // Constant frame rate: a gap in the input (a stall at the encoder) becomes repeated frames, not one
      // long frame, so no chunk outgrows the part target.
      '-fps_mode', 'cfr',
      '-c:v', 'libx264', '-preset', encoding.speedPreset, '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      '-profile:v', r.profile, '-b:v', `${r.videoBitrateKbps}k`, '-maxrate:v', `${r.videoBitrateKbps}k`, '-bufsize:v', `${r.videoBitrateKbps * 2}k`,
      '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-force_key_frames', `expr:gte(t,n_forced*${formatSeconds(kfi)})`,
      ...dash(r.name, videoMuxer),
    ]),
    // Each DASH muxer cuts segments from its own stream's start. Constant frame rate fills video from media
    // time 0; first_pts=0 pads audio from 0 too (an encoder's sound often starts later than its picture),
    // so segment n of every rendition covers the same media time and their sequence numbers agree.
    '-map', '0:a:0', '-af', 'aresample=async=1:first_pts=0', '-c:a', 'aac', '-b:a', `${encoding.audioBitrateKbps}k`,
    ...dash(audio.name, audioMuxer),
  ];
}

function passthroughCodecArgs(job: TranscodeJob): string[] {
  // Stream copy: the encoder's packets are stored as they arrived (no decode, no re-encode). AAC in
  // MPEG-TS (SRT) comes with ADTS headers, which MP4 does not carry: ffmpeg 5.1's HLS muxer does not
  // strip them by itself, and refuses the first audio packet.
  return ['-map', '0:v:0', '-map', '0:a:0', '-c', 'copy', ...adtsArgs(job)];
}

/**
 * Stream copy from MPEG-TS (SRT) keeps the TS stream types as codec tags (0x1b, 0x0f); the DASH muxer
 * hands them to its MP4 muxer, which refuses them ("Tag [27][0][0][0] incompatible"): name the MP4
 * sample entries. (The HLS muxer picks its own, so the standard path needs none.)
 */
function mp4TagArgs(job: TranscodeJob, stream: 'v' | 'a', tag: 'avc1' | 'mp4a'): string[] {
  return job.inputFormat === 'mpegts' ? [`-tag:${stream}`, tag] : [];
}

/** AAC in MPEG-TS (SRT) carries ADTS headers, which MP4 does not: stream copy strips them. */
function adtsArgs(job: TranscodeJob): string[] {
  return job.inputFormat === 'mpegts' ? ['-bsf:a', 'aac_adtstoasc'] : [];
}

function standardCodecArgs(job: TranscodeJob, videoCount: number): string[] {
  const encoding = job.encoding;
  if (encoding.type !== 'standard') throw new Error('standardCodecArgs needs a standard encoding');
  const kfi = job.keyFrameIntervalSeconds;
  const gop = String(Math.ceil(kfi * MAX_FRAME_RATE));
  // Decode once, split, scale each rung: one decoder feeds every encoder.
  const split = videoCount === 1 ? '[0:v]null[s0]' : `[0:v]split=${videoCount}${encoding.ladder.map((_r, i) => `[s${i}]`).join('')}`;
  const scales = encoding.ladder.map((r, i) => `[s${i}]scale=${r.width}:${r.height}[v${i}]`);
  return [
    '-filter_complex', [split, ...scales].join(';'),
    ...encoding.ladder.flatMap((_r, i) => ['-map', `[v${i}]`]),
    '-map', '0:a:0',
    '-c:v', 'libx264', '-preset', encoding.speedPreset, '-pix_fmt', 'yuv420p',
    ...encoding.ladder.flatMap((r, i) => [
      `-profile:v:${i}`, r.profile,
      `-b:v:${i}`, `${r.videoBitrateKbps}k`,
      `-maxrate:v:${i}`, `${r.videoBitrateKbps}k`,
      `-bufsize:v:${i}`, `${r.videoBitrateKbps * 2}k`,
    ]),
    // Same forced key frame times in every rendition and no scene-cut key frames: players switch cleanly.
    '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${formatSeconds(kfi)})`,
    // RTMP timestamps are whole milliseconds (and an SRT feed may lose packets): resampling keeps AAC
    // frames evenly spaced.
    '-af', 'aresample=async=1',
    '-c:a', 'aac', '-b:a', `${encoding.audioBitrateKbps}k`,
  ];
}

function formatSeconds(seconds: number): string {
  return Number.isInteger(seconds) ? String(seconds) : String(Number(seconds.toFixed(3)));
}
