import { Construct } from 'constructs';
import { LivestackValidationError, ValidationIssue } from '../lib/model/errors';
import { LOW_LATENCY } from '../lib/model/latency';
import {
  ChannelManifest, encoding as encodingSchema, IngestProtocol, KEY_FRAME_SECONDS, LatencyMode, RunState, SEGMENT_SECONDS, SRT_LATENCY_MS, SrtIngest,
} from '../lib/model/manifest';
import { liveChannelProps, toDuration } from '../lib/model/props';
import { validateProps, zodIssues } from '../lib/model/validate';
import { Duration } from '../lib/model/values/duration';
import { Encoding } from '../lib/model/values/encoding';
import { Secret } from '../lib/model/values/secret';
import { rtmpIngestUrl, srtIngestUrl } from '../lib/model/public-urls';
import { constructName } from './private/naming';
import { accountOf, AccountScope, brand, ChannelScope, childrenOf } from './private/scopes';
import { Program, ProgramProps } from './program';

/** RTMP port of a channel that sets none. */
const DEFAULT_PORT = 1935;

/** Props of a LiveChannel. */
export interface LiveChannelProps {
  /** Channel name (DNS label). @default - the construct id */
  readonly name?: string;
  /**
   * Port encoders push to: RTMP's (TCP), and SRT's (UDP) unless `srt.port` says otherwise. Every channel
   * defaults to 1935, so an account with several channels sets this on all but one: a channel's URL
   * never depends on its position among its siblings.
   * @default 1935
   */
  readonly port?: number;
  /**
   * Ingest protocols encoders may use: RTMP (`rtmp://HOST:PORT/live` + stream key), SRT
   * (`srt://HOST:PORT?streamid=publish:<channel>&passphrase=<stream key>`), or both; one publisher at a
   * time either way.
   * @default ['rtmp']
   */
  readonly protocols?: IngestProtocol[];
  /** SRT settings, for a channel whose `protocols` include `'srt'`. @default - see SrtIngestOptions */
  readonly srt?: SrtIngestOptions;
  /**
   * Stream key encoders must present. A string is a clear key written in code (only its salted hash
   * is kept) unless it is a token such as `variable.stringValue`. On a channel with SRT the key is also
   * the SRT passphrase: 10 to 79 characters, and readable by the workload (generated or a variable).
   * @default Secret.generated() - created at run time; `livestack up` shows where to read it
   */
  readonly streamKey?: string | Secret;
  /** Addresses or CIDR blocks allowed to publish. @default - all */
  readonly ingestAllowList?: string[];
  /**
   * Addresses or CIDR blocks allowed to open the channel's preview page (`/preview/<channel>` on every
   * endpoint). The preview plays the channel's newest recording in the clear, outside any locator's
   * id, window or encryption, so it is opt-in: list only operators' addresses (and remember that
   * behind a local reverse proxy every viewer comes from loopback).
   * @default [] - no preview
   */
  readonly previewAllowList?: string[];
  /**
   * Key frame interval of the output, 0.5 s - 20 s; key frames align across renditions.
   * @default - Duration.seconds(2); Duration.seconds(1) with latency 'low'
   */
  readonly keyFrameInterval?: Duration | string;
  /**
   * Segment duration: a whole multiple of the key frame interval, up to 60 s (6 s with latency 'low').
   * @default - twice the key frame interval
   */
  readonly segmentDuration?: Duration | string;
  /** Passthrough or an adaptive ladder. @default Encoding.standard(EncodingPreset.default720p()) */
  readonly encoding?: Encoding;
  /**
   * How far behind the live edge players run, and what that costs.
   *
   * - `'standard'`: HLS and DASH of whole segments. Players start about three segments behind the live
   *   edge: with 4-s segments, 10-15 s from camera to screen. One request per segment per rendition.
   * - `'low'`: LL-HLS (RFC 8216bis) besides the same HLS and DASH: the transcoder writes each segment
   *   as chunked CMAF, the origin lists the chunks as partial segments of a third of a second, answers
   *   blocking playlist requests as soon as a part is written, and hints the next one, so LL-HLS players
   *   run about 2 s behind the encoder (hls.js in Chromium: 1.78 s p50, `npm run bench:latency`).
   *   Costs: x264 runs with zero-latency tuning (no B-frames or look-ahead: roughly 10-20% more bits
   *   for the same picture), key frames every second by
   *   default, and each viewer makes about three playlist and three part requests per second per
   *   rendition it plays (the origin holds the playlist requests open until the part exists).
   *   Recordings (programs' archives) stay whole segments; DASH and non-LL HLS players keep their
   *   usual latency.
   * @default 'standard'
   */
  readonly latency?: LatencyMode;
  /** Declared run state: `stopped` removes the ingest workload. @default 'running' */
  readonly state?: RunState;
}

/** SRT settings of a channel. */
export interface SrtIngestOptions {
  /** UDP port SRT encoders call. @default - the channel's port (RTMP uses it over TCP) */
  readonly port?: number;
  /**
   * SRT latency, 20 ms to 8 s in whole milliseconds: how long the link keeps asking for a lost packet
   * again before it gives it up (a gap in the recording). Give it 3-4 times the round trip to the
   * encoder on a lossy link; the stream reaches the transcoder this much later. As in libsrt, an
   * encoder that asks for more (ffmpeg's `latency`, in microseconds) gets more; nothing sent before
   * the encoder closes is lost to it.
   * @default Duration.millis(120) - libsrt's default
   */
  readonly latency?: Duration | string;
  /**
   * AES key length of the contribution, in bytes: 16, 24 or 32 (AES-128/192/256), SRT's `pbkeylen`.
   * An encoder that sets no key length gets the channel's; one that sets another is refused (the
   * ingest log says why).
   * @default 16
   */
  readonly keyLength?: 16 | 24 | 32;
}

/** An ingest point: encoders push RTMP or SRT to it; its programs record it (AMS live event). */
export class LiveChannel extends Construct implements ChannelScope {
  readonly channelName: string;
  readonly account: AccountScope;
  /** Ingest port of the channel: RTMP's (TCP), and SRT's (UDP) unless `srt.port` says otherwise. */
  readonly port: number;
  /** Ingest protocols the channel takes. */
  readonly protocols: readonly IngestProtocol[];
  readonly keyFrameInterval: Duration;
  readonly segmentDuration: Duration;
  readonly latency: LatencyMode;
  private readonly resolved: ReturnType<typeof liveChannelProps.parse>;
  private readonly streamKey: Secret;
  private readonly srt?: SrtIngest;

  constructor(account: AccountScope, id: string, props: LiveChannelProps = {}) {
    super(account, id);
    brand(this, 'channel');
    this.resolved = validateProps(liveChannelProps, props, this.node.path);
    this.account = accountOf(this);
    this.channelName = constructName(this, this.resolved.name);
    const issues: ValidationIssue[] = [];
    this.latency = this.resolved.latency ?? 'standard';
    const low = this.latency === 'low';
    const keyFrameInterval = toDuration(this.resolved.keyFrameInterval, Duration.seconds(low ? LOW_LATENCY.defaultKeyFrameIntervalSeconds : 2));
    if (!keyFrameInterval) issues.push(this.unparsable('keyFrameInterval', this.resolved.keyFrameInterval));
    const segmentDuration = toDuration(this.resolved.segmentDuration, Duration.seconds((keyFrameInterval?.toSeconds() ?? 2) * 2));
    if (!segmentDuration) issues.push(this.unparsable('segmentDuration', this.resolved.segmentDuration));
    // How long a low-latency segment may be is a rule: low-latency-segments.
    if (keyFrameInterval && segmentDuration) issues.push(...this.checkTiming(keyFrameInterval, segmentDuration));
    const encoding = (this.resolved.encoding ?? Encoding.standard()).toManifest();
    const encodingCheck = encodingSchema.safeParse(encoding);
    if (!encodingCheck.success) {
      issues.push(...zodIssues(encodingCheck.error, encoding, this.node.path).map((i) => ({ ...i, field: `encoding.${i.field}` })));
    }
    this.protocols = this.resolved.protocols ?? ['rtmp'];
    if (new Set(this.protocols).size !== this.protocols.length) {
      issues.push({ path: this.node.path, field: 'protocols', received: JSON.stringify(this.protocols), allowed: 'each protocol once' });
    }
    const takesSrt = this.protocols.includes('srt');
    if (this.resolved.srt && !takesSrt) {
      issues.push({ path: this.node.path, field: 'srt', received: `SRT settings on a channel with protocols ${JSON.stringify(this.protocols)}`, allowed: 'srt settings only with "srt" in protocols' });
    }
    const srtLatency = toDuration(this.resolved.srt?.latency, Duration.millis(SRT_LATENCY_MS.default));
    if (!srtLatency) issues.push(this.unparsable('srt.latency', this.resolved.srt?.latency));
    else issues.push(...this.checkSrtLatency(srtLatency));
    const key = this.resolved.streamKey ?? Secret.generated();
    this.streamKey = typeof key === 'string' ? Secret.fromString(key) : key;
    const secretProblem = this.streamKey.problem(this, takesSrt ? 'srt-stream-key' : 'stream-key');
    if (secretProblem) issues.push({ path: this.node.path, field: 'streamKey', ...secretProblem });
    if (issues.length) throw new LivestackValidationError(issues);
    this.keyFrameInterval = keyFrameInterval!;
    this.segmentDuration = segmentDuration!;
    this.port = this.resolved.port ?? DEFAULT_PORT;
    this.srt = takesSrt
      ? { port: this.resolved.srt?.port ?? this.port, keyLength: this.resolved.srt?.keyLength ?? 16, latencyMs: Math.round(srtLatency!.toSeconds() * 1000) }
      : undefined;
  }

  /** Adds a program that records this channel into an asset. */
  addProgram(id: string, props: ProgramProps = {}): Program {
    return new Program(this, id, props);
  }

  /** The programs of this channel, in creation order. */
  get allPrograms(): readonly Program[] { return childrenOf(this, (x): x is Program => x instanceof Program); }

  /** The URL encoders push RTMP to (append the stream key), e.g. `rtmp://127.0.0.1:1935/live`. */
  get ingestUrl(): string {
    return rtmpIngestUrl(this.account.bindAddress, this.port);
  }

  /**
   * The URL SRT encoders call, without the passphrase (add `&passphrase=<stream key>`), e.g.
   * `srt://127.0.0.1:1935?streamid=publish:news`; undefined when the channel takes no SRT.
   */
  get srtIngestUrl(): string | undefined {
    return this.srt ? srtIngestUrl(this.account.bindAddress, this.srt.port, this.channelName) : undefined;
  }

  toManifest(): ChannelManifest {
    return {
      name: this.channelName,
      path: this.node.path,
      protocols: [...this.protocols],
      port: this.port,
      ...(this.srt ? { srt: this.srt } : {}),
      streamKey: this.streamKey.toRef(this, `${this.account.accountName}-${this.channelName}-stream-key`),
      ingestAllowList: this.resolved.ingestAllowList ?? [],
      previewAllowList: this.resolved.previewAllowList ?? [],
      keyFrameIntervalSeconds: this.keyFrameInterval.toSeconds(),
      segmentDurationSeconds: this.segmentDuration.toSeconds(),
      encoding: (this.resolved.encoding ?? Encoding.standard()).toManifest(),
      ...(this.latency === 'low' ? { latency: this.latency } : {}),
      state: this.resolved.state ?? 'running',
      programs: this.allPrograms.map((p) => p.toManifest()),
    };
  }

  private checkTiming(keyFrameInterval: Duration, segmentDuration: Duration): ValidationIssue[] {
    const kfi = keyFrameInterval.toSeconds();
    const seg = segmentDuration.toSeconds();
    const issues: ValidationIssue[] = [];
    if (!(kfi >= KEY_FRAME_SECONDS.min && kfi <= KEY_FRAME_SECONDS.max)) {
      issues.push({ path: this.node.path, field: 'keyFrameInterval', received: keyFrameInterval.toString(), allowed: `from ${KEY_FRAME_SECONDS.min}s to ${KEY_FRAME_SECONDS.max}s` });
    }
    // Whether segments start on key frames (a multiple of the interval) is a rule: segments-on-key-frames.
    if (!(seg >= SEGMENT_SECONDS.min && seg <= SEGMENT_SECONDS.max)) {
      issues.push({ path: this.node.path, field: 'segmentDuration', received: segmentDuration.toString(), allowed: `from ${SEGMENT_SECONDS.min}s to ${SEGMENT_SECONDS.max}s` });
    }
    return issues;
  }

  private checkSrtLatency(latency: Duration): ValidationIssue[] {
    const ms = latency.toSeconds() * 1000;
    if (ms >= SRT_LATENCY_MS.min && ms <= SRT_LATENCY_MS.max && Math.abs(ms - Math.round(ms)) < 1e-6) return [];
    return [{
      path: this.node.path, field: 'srt.latency', received: latency.toString(),
      allowed: `from ${SRT_LATENCY_MS.min}ms to ${Duration.millis(SRT_LATENCY_MS.max)}, in whole milliseconds (SRT's latency: how long a lost packet is asked for again)`,
    }];
  }

  private unparsable(field: string, value: unknown): ValidationIssue {
    return { path: this.node.path, field, received: JSON.stringify(value), allowed: 'a duration such as "2s", "500ms" or "PT2S"' };
  }
}
