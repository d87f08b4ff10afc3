import { Construct } from 'constructs';
import { LivestackValidationError } from '../lib/model/errors';
import { ProgramManifest, RunState } from '../lib/model/manifest';
import { programProps, toDuration } from '../lib/model/props';
import { validateProps } from '../lib/model/validate';
import { Duration } from '../lib/model/values/duration';
import { Locator, LocatorProps } from './locator';
import { constructName } from './private/naming';
import { brand, ChannelScope, childrenOf, EndpointRef, isChannel, ProgramScope } from './private/scopes';

const MIN_WINDOW = Duration.minutes(5);
const MAX_WINDOW = Duration.hours(25);

/** Props of a Program. */
export interface ProgramProps {
  /** Program name (DNS label). @default - the construct id */
  readonly name?: string;
  /** DVR depth: how far back players can seek while the program runs, 5 min - 25 h. @default Duration.hours(1) */
  readonly archiveWindow?: Duration | string;
  /** Base name of the manifests: `<manifestName>.m3u8` and `.mpd`. @default 'manifest' */
  readonly manifestName?: string;
  /** The asset recorded into (unique in the account). @default - `<channel>-<program>` */
  readonly assetName?: string;
  /**
   * `running` records (within `start` and `end` when set); `stopped` keeps the asset playable as video
   * on demand. Programs declared running count toward the 3 per channel whatever their schedule.
   * @default 'running'
   */
  readonly state?: RunState;
  /**
   * When a running program starts recording, as broadcasters schedule a show: before it nothing is
   * recorded. A Date or an ISO 8601 date-time with zone, e.g. `2026-12-01T18:00:00Z`. Boundaries fall
   * on whole segments: the asset holds the segments whose middle lies between `start` and `end`.
   * @default - records as soon as it is declared running
   */
  readonly start?: Date | string;
  /**
   * When a running program stops recording: its asset is closed (EXT-X-ENDLIST) and stays playable as
   * video on demand, as if the program were declared stopped. Must be after `start`.
   * @default - records until it is declared stopped
   */
  readonly end?: Date | string;
}

/** A recording of a channel into an asset, with a sliding archive window (AMS live output). */
export class Program extends Construct implements ProgramScope {
  readonly programName: string;
  readonly channel: ChannelScope;
  readonly assetName: string;
  readonly manifestName: string;
  readonly archiveWindow: Duration;
  readonly state: RunState;
  /** ISO 8601 start of its schedule, if any. */
  readonly start?: string;
  /** ISO 8601 end of its schedule, if any. */
  readonly end?: string;

  constructor(channel: ChannelScope, id: string, props: ProgramProps = {}) {
    super(channel, id);
    brand(this, 'program');
    const resolved = validateProps(programProps, props, this.node.path);
    if (!isChannel(channel)) throw new Error(`${this.node.path}: a Program's scope must be a LiveChannel`);
    this.channel = channel;
    this.programName = constructName(this, resolved.name);
    const window = toDuration(resolved.archiveWindow, Duration.hours(1));
    if (!window || window.toSeconds() < MIN_WINDOW.toSeconds() || window.toSeconds() > MAX_WINDOW.toSeconds()) {
      throw new LivestackValidationError([{
        path: this.node.path, field: 'archiveWindow', received: window ? window.toString() : JSON.stringify(resolved.archiveWindow),
        allowed: `a duration from ${MIN_WINDOW} to ${MAX_WINDOW}`,
      }]);
    }
    this.start = resolved.start === undefined ? undefined : new Date(resolved.start).toISOString();
    this.end = resolved.end === undefined ? undefined : new Date(resolved.end).toISOString();
    this.archiveWindow = window;
    this.manifestName = resolved.manifestName ?? 'manifest';
    this.assetName = resolved.assetName ?? `${channel.channelName}-${this.programName}`;
    this.state = resolved.state ?? 'running';
  }

  /** Publishes this program's asset on an endpoint; returns the Locator (its URLs are `locator.hlsUrl` / `dashUrl`). */
  publish(endpoint: EndpointRef, props: Omit<LocatorProps, 'endpoint'> & { readonly id?: string } = {}): Locator {
    const { id, ...rest } = props;
    // `endpoint?.` so a missing endpoint (plain JavaScript) gets the Locator's validation message, not a TypeError.
    const locatorId = id ?? `Locator-${endpoint?.endpointName ?? 'endpoint'}`;
    const existing = this.node.tryFindChild(locatorId);
    if (existing) {
      throw new LivestackValidationError([{
        path: `${this.node.path}/${locatorId}`, field: id === undefined ? 'endpoint' : 'id',
        received: id === undefined ? `endpoint ${endpoint?.endpointName} again (already published there as ${existing.node.path})` : `${JSON.stringify(id)} (already used by ${existing.node.path})`,
        allowed: 'one publication per endpoint, or a distinct `id` for each further locator, e.g. publish(endpoint, { id: \'Locator-backup\' })',
      }]);
    }
    return new Locator(this, locatorId, { ...rest, endpoint });
  }

  /** The locators of this program. */
  get allLocators(): readonly Locator[] { return childrenOf(this, (x): x is Locator => x instanceof Locator); }

  toManifest(): ProgramManifest {
    return {
      name: this.programName,
      path: this.node.path,
      assetName: this.assetName,
      manifestName: this.manifestName,
      archiveWindowSeconds: Math.round(this.archiveWindow.toSeconds()),
      state: this.state,
      ...(this.start ? { start: this.start } : {}),
      ...(this.end ? { end: this.end } : {}),
    };
  }
}
