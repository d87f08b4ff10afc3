/**
 * The account storage layout: the contract between ingest (writes), origin (reads), key service and
 * runtime. All paths are relative to the storage root (`LIVESTACK_STORAGE_DIR`).
 *
 * ```
 * channels/<channel>/                 ingest's working area (transcoder output; ingest owns its inner layout)
 * channels/<channel>/health.json      IngestHealth, rewritten atomically every few seconds
 * assets/<asset>/asset.json           AssetDescriptor
 * assets/<asset>/<rendition>/index.m3u8  HLS media playlist of the asset (fMP4: EXT-X-MAP, EXT-X-PROGRAM-DATE-TIME,
 *                                     EXT-X-DISCONTINUITY on reconnects; sliding window while recording,
 *                                     EXT-X-ENDLIST once stopped). Segment and map URIs are relative file names
 *                                     in the same folder (hard links of the channel's segments).
 * assets/<asset>/<rendition>/live.json  LiveEdge of a low-latency channel's recording asset: the newest segments
 *                                     with their parts (chunks), and the segment being written (already linked
 *                                     into the folder under its final name); rewritten atomically on every part.
 * keys/<keyId>.key                    16 raw bytes, mode 0600, created once with O_EXCL by whoever needs it first
 * secrets/<secretId>                  generated secrets, mode 0600
 * control/<workload>.json             live config written by the runtime (atomic rename), watched by the workload
 * ```
 */
import * as path from 'node:path';
import { z } from 'zod';

/** File name of a rendition's live edge (see LiveEdge). */
export const LIVE_EDGE_FILE = 'live.json';

export const storagePaths = {
  channelDir: (root: string, channel: string) => path.join(root, 'channels', channel),
  channelHealth: (root: string, channel: string) => path.join(root, 'channels', channel, 'health.json'),
  assetDir: (root: string, asset: string) => path.join(root, 'assets', asset),
  assetDescriptor: (root: string, asset: string) => path.join(root, 'assets', asset, 'asset.json'),
  renditionDir: (root: string, asset: string, rendition: string) => path.join(root, 'assets', asset, rendition),
  renditionPlaylist: (root: string, asset: string, rendition: string) => path.join(root, 'assets', asset, rendition, 'index.m3u8'),
  liveEdge: (root: string, asset: string, rendition: string) => path.join(root, 'assets', asset, rendition, LIVE_EDGE_FILE),
  contentKey: (root: string, keyId: string) => path.join(root, 'keys', `${keyId}.key`),
  secret: (root: string, secretId: string) => path.join(root, 'secrets', secretId),
  controlFile: (root: string, workload: string) => path.join(root, 'control', `${workload}.json`),
};

/** One stored rendition of an asset, as the origin needs it to write HLS and DASH manifests. */
export const storedRendition = z.object({
  name: z.string(),
  type: z.enum(['video', 'audio']),
  /** Peak bits per second (HLS BANDWIDTH, DASH bandwidth). */
  bandwidth: z.number().int().positive(),
  averageBandwidth: z.number().int().positive().optional(),
  /** RFC 6381 codec string, e.g. `avc1.64001f` or `mp4a.40.2`. */
  codecs: z.string(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  frameRate: z.number().optional(),
  sampleRate: z.number().int().optional(),
  channels: z.number().int().optional(),
});
export type StoredRendition = z.infer<typeof storedRendition>;

export const assetDescriptor = z.object({
  version: z.literal(1),
  asset: z.string(),
  channel: z.string(),
  program: z.string(),
  /** `recording` while the program runs (live, sliding window); `stopped` once it is VOD. */
  state: z.enum(['recording', 'stopped']),
  archiveWindowSeconds: z.number(),
  /** Nominal segment duration (HLS TARGETDURATION is the ceiling of the longest segment). */
  segmentDurationSeconds: z.number(),
  container: z.literal('fmp4'),
  /** Video renditions (video only) and one audio rendition. */
  renditions: z.array(storedRendition).min(1),
  startedAt: z.string(),
  stoppedAt: z.string().optional(),
  updatedAt: z.string(),
  /** Present for a low-latency channel's recording: its renditions have live edges (live.json) with parts. */
  lowLatency: z.object({ partTargetSeconds: z.number().positive() }).optional(),
});
export type AssetDescriptor = z.infer<typeof assetDescriptor>;

/** One chunk of a segment: an LL-HLS partial segment, a byte range of the segment file. */
export const livePart = z.object({
  offset: z.number().int().nonnegative(),
  length: z.number().int().positive(),
  durationSeconds: z.number().nonnegative(),
  independent: z.boolean(),
});
export type LivePart = z.infer<typeof livePart>;

/** A segment at the live edge of a rendition, with its parts so far. */
export const liveSegment = z.object({
  /** Media sequence number in the asset's playlist. */
  sequence: z.number().int().nonnegative(),
  discontinuitySequence: z.number().int().nonnegative(),
  /** An EXT-X-DISCONTINUITY precedes it. */
  discontinuity: z.boolean(),
  /** File name in the rendition folder (a hard link of the file ffmpeg writes), and its init section. */
  uri: z.string(),
  mapUri: z.string(),
  programDateTimeMs: z.number().optional(),
  /** Complete (then also in index.m3u8, with this duration), or still being written. */
  complete: z.boolean(),
  durationSeconds: z.number().nonnegative(),
  parts: z.array(livePart),
});
export type LiveSegment = z.infer<typeof liveSegment>;

/**
 * The live edge of one rendition of a low-latency recording (`live.json`): the newest complete segments
 * with their parts, then at most one segment being written. The origin lists parts from it; index.m3u8
 * stays the record of complete segments.
 */
export const liveEdge = z.object({
  version: z.literal(1),
  partTargetSeconds: z.number().positive(),
  segments: z.array(liveSegment),
});
export type LiveEdge = z.infer<typeof liveEdge>;

export const ingestHealth = z.object({
  channel: z.string(),
  publisherConnected: z.boolean(),
  /** Remote address of the current publisher, if any. */
  publisher: z.string().optional(),
  /** How the current publisher contributes. */
  publisherProtocol: z.enum(['rtmp', 'srt']).optional(),
  /** The current SRT publisher's link, from libsrt's counters (totals since it connected). */
  srt: z.object({
    rttMs: z.number(),
    packetsLost: z.number().int(),
    packetsRetransmitted: z.number().int(),
    /** Lost for good (the encoder gave them up). */
    packetsDropped: z.number().int(),
  }).optional(),
  inputBitrateKbps: z.number().optional(),
  inputFrameRate: z.number().optional(),
  /** Seconds since the newest segment was written; absent before the first. */
  lastSegmentAgeSeconds: z.number().optional(),
  lastSegmentAt: z.string().optional(),
  transcoderRestarts: z.number().int(),
  /** The storage's free space; `recordingPaused` while it is under the ingest's reserve (see ingest/storage-guard.ts). */
  storage: z.object({
    freeBytes: z.number(),
    totalBytes: z.number(),
    reserveBytes: z.number(),
    recordingPaused: z.boolean(),
    message: z.string().optional(),
  }).optional(),
  updatedAt: z.string(),
});
export type IngestHealth = z.infer<typeof ingestHealth>;
