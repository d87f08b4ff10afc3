/**
 * What the two latency modes of a channel mean in numbers, shared by the construct (defaults and
 * rules), the ingest (how ffmpeg cuts chunks) and the origin (LL-HLS playlist attributes).
 */
import { ValidationIssue } from './errors';
import { ChannelManifest, LatencyMode } from './manifest';

export const LOW_LATENCY = {
  /**
   * EXT-X-PART-INF:PART-TARGET, seconds: no part is longer. Small parts cut latency (players hold back
   * three of them) but cost requests; a third of a second keeps a 30-fps part at 10 frames.
   */
  partTargetSeconds: 0.334,
  /** Key frames every second by default: a player can start (and switch renditions) at every second. */
  defaultKeyFrameIntervalSeconds: 1,
  defaultSegmentDurationSeconds: 2,
  /**
   * Longest segment of a low-latency channel: blocking playlist requests are held up to three target
   * durations, which must stay below the balancer's 60-s read timeout, and players start within a segment.
   */
  maxSegmentDurationSeconds: 6,
} as const;

/** The latency mode a channel manifest declares (absent: standard). */
export function latencyOf(channel: Pick<ChannelManifest, 'latency'>): LatencyMode {
  return channel.latency ?? 'standard';
}

/** Rules a low-latency channel must follow, as validation issues. */
export function latencyIssues(channel: Pick<ChannelManifest, 'path' | 'latency' | 'segmentDurationSeconds'>): ValidationIssue[] {
  if (latencyOf(channel) !== 'low' || channel.segmentDurationSeconds <= LOW_LATENCY.maxSegmentDurationSeconds) return [];
  return [{
    path: channel.path,
    field: 'segmentDuration',
    received: `${channel.segmentDurationSeconds}s with latency "low"`,
    allowed: `at most ${LOW_LATENCY.maxSegmentDurationSeconds}s for a low-latency channel (blocking playlist requests are held up to three segment durations)`,
  }];
}
