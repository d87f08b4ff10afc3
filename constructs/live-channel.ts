import { Construct } from 'constructs';
import { LivestackValidationError, ValidationIssue } from '../lib/model/errors';
import { ChannelManifest, encoding as encodingSchema, KEY_FRAME_SECONDS, RunState, SEGMENT_SECONDS } from '../lib/model/manifest';
import { liveChannelProps, toDuration } from '../lib/model/props';
import { validateProps, zodIssues } from '../lib/model/validate';
import { Duration } from '../lib/model/values/duration';
import { Encoding } from '../lib/model/values/encoding';
import { Secret } from '../lib/model/values/secret';
import { rtmpIngestUrl } from '../lib/model/public-urls';
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
   * RTMP port encoders push to. Every channel defaults to 1935, so an account with several channels sets
   * this on all but one: a channel's URL never depends on its position among its siblings.
   * @default 1935
   */
  readonly port?: number;
  /** Ingest protocol. @default 'rtmp' */
  readonly protocol?: 'rtmp';
  /**
   * Stream key encoders must present. A string is a clear key written in code (only its salted hash
   * is kept) unless it is a token such as `variable.stringValue`.
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
  /** Key frame interval of the output, 0.5 s - 20 s; key frames align across renditions. @default Duration.seconds(2) */
  readonly keyFrameInterval?: Duration | string;
  /** Segment duration: a whole multiple of the key frame interval, up to 60 s. @default - twice the key frame interval */
  readonly segmentDuration?: Duration | string;
  /** Passthrough or an adaptive ladder. @default Encoding.standard(EncodingPreset.default720p()) */
  readonly encoding?: Encoding;
  /** Declared run state: `stopped` removes the ingest workload. @default 'running' */
  readonly state?: RunState;
}

/** An ingest point: encoders push RTMP to it; its programs record it (AMS live event). */
export class LiveChannel extends Construct implements ChannelScope {
  readonly channelName: string;
  readonly account: AccountScope;
  /** RTMP port of the channel. */
  readonly port: number;
  readonly keyFrameInterval: Duration;
  readonly segmentDuration: Duration;
  private readonly resolved: ReturnType<typeof liveChannelProps.parse>;
  private readonly streamKey: Secret;

  constructor(account: AccountScope, id: string, props: LiveChannelProps = {}) {
    super(account, id);
    brand(this, 'channel');
    this.resolved = validateProps(liveChannelProps, props, this.node.path);
    this.account = accountOf(this);
    this.channelName = constructName(this, this.resolved.name);
    const issues: ValidationIssue[] = [];
    const keyFrameInterval = toDuration(this.resolved.keyFrameInterval, Duration.seconds(2));
    if (!keyFrameInterval) issues.push(this.unparsable('keyFrameInterval', this.resolved.keyFrameInterval));
    const segmentDuration = toDuration(this.resolved.segmentDuration, Duration.seconds((keyFrameInterval?.toSeconds() ?? 2) * 2));
    if (!segmentDuration) issues.push(this.unparsable('segmentDuration', this.resolved.segmentDuration));
    if (keyFrameInterval && segmentDuration) issues.push(...this.checkTiming(keyFrameInterval, segmentDuration));
    const encoding = (this.resolved.encoding ?? Encoding.standard()).toManifest();
    const encodingCheck = encodingSchema.safeParse(encoding);
    if (!encodingCheck.success) {
      issues.push(...zodIssues(encodingCheck.error, encoding, this.node.path).map((i) => ({ ...i, field: `encoding.${i.field}` })));
    }
    const key = this.resolved.streamKey ?? Secret.generated();
    this.streamKey = typeof key === 'string' ? Secret.fromString(key) : key;
    const secretProblem = this.streamKey.problem(this, 'stream-key');
    if (secretProblem) issues.push({ path: this.node.path, field: 'streamKey', ...secretProblem });
    if (issues.length) throw new LivestackValidationError(issues);
    this.keyFrameInterval = keyFrameInterval!;
    this.segmentDuration = segmentDuration!;
    this.port = this.resolved.port ?? DEFAULT_PORT;
  }

  /** Adds a program that records this channel into an asset. */
  addProgram(id: string, props: ProgramProps = {}): Program {
    return new Program(this, id, props);
  }

  /** The programs of this channel, in creation order. */
  get allPrograms(): readonly Program[] { return childrenOf(this, (x): x is Program => x instanceof Program); }

  /** The URL encoders push to (append the stream key), e.g. `rtmp://127.0.0.1:1935/live`. */
  get ingestUrl(): string {
    return rtmpIngestUrl(this.account.bindAddress, this.port);
  }

  toManifest(): ChannelManifest {
    return {
      name: this.channelName,
      path: this.node.path,
      protocol: 'rtmp',
      port: this.port,
      streamKey: this.streamKey.toRef(this, `${this.account.accountName}-${this.channelName}-stream-key`),
      ingestAllowList: this.resolved.ingestAllowList ?? [],
      previewAllowList: this.resolved.previewAllowList ?? [],
      keyFrameIntervalSeconds: this.keyFrameInterval.toSeconds(),
      segmentDurationSeconds: this.segmentDuration.toSeconds(),
      encoding: (this.resolved.encoding ?? Encoding.standard()).toManifest(),
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

  private unparsable(field: string, value: unknown): ValidationIssue {
    return { path: this.node.path, field, received: JSON.stringify(value), allowed: 'a duration such as "2s", "500ms" or "PT2S"' };
  }
}
