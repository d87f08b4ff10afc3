import { Construct } from 'constructs';
import { LivestackValidationError, ValidationIssue } from '../lib/model/errors';
import { LocatorManifest } from '../lib/model/manifest';
import { locatorProps } from '../lib/model/props';
import { validateProps } from '../lib/model/validate';
import { derivedUuid } from './private/naming';
import { accountOf, DeliveryPolicyRef, EndpointRef, isProgram, ProgramScope } from './private/scopes';

/** Props of a Locator. */
export interface LocatorProps {
  /** Locator name (DNS label), unique in the account. @default - `<channel>-<program>-<construct id>`, lower-cased */
  readonly name?: string;
  /** The endpoint that serves it (same account as the program). */
  readonly endpoint: EndpointRef;
  /** Protocols and encryption. @default - the account's default policy: clear HLS and DASH */
  readonly deliveryPolicy?: DeliveryPolicyRef;
  /** Not served before this time (404). @default - served at once */
  readonly start?: Date | string;
  /** Not served after this time (410 Gone). @default - served until removed */
  readonly end?: Date | string;
  /**
   * The UUID that starts every playback URL. By default livestack derives it at run time from a random
   * key kept in the account's storage, so nobody who reads the app can compute it; it stays the same
   * across synths and applies of one deployment, and differs between deployments. `livestack status`
   * and `livestack up` show it. Set it only to keep a URL across deployments: it is then exactly as
   * secret as your source code.
   * @default - derived from the account's locator id key (see the README, Security)
   */
  readonly locatorId?: string;
}

/** Publication of a program's asset on a streaming endpoint (AMS streaming locator). */
export class Locator extends Construct {
  readonly program: ProgramScope;
  readonly endpoint: EndpointRef;
  readonly deliveryPolicy: DeliveryPolicyRef;
  readonly locatorName: string;
  /** The locator id when the app set it; undefined when it is derived at run time (see LocatorProps.locatorId). */
  readonly locatorId?: string;
  private readonly start?: string;
  private readonly end?: string;

  constructor(program: ProgramScope, id: string, props: LocatorProps) {
    super(program, id);
    const resolved = validateProps(locatorProps, props, this.node.path);
    if (!isProgram(program)) throw new Error(`${this.node.path}: a Locator's scope must be a Program`);
    this.program = program;
    this.endpoint = props.endpoint;
    const account = accountOf(this);
    this.deliveryPolicy = props.deliveryPolicy ?? account.defaultDeliveryPolicy();
    this.locatorName = resolved.name ?? defaultLocatorName(program, id);
    this.locatorId = resolved.locatorId;
    this.start = resolved.start === undefined ? undefined : new Date(resolved.start).toISOString();
    this.end = resolved.end === undefined ? undefined : new Date(resolved.end).toISOString();
    const issues: ValidationIssue[] = [];
    for (const [field, other] of [['endpoint', this.endpoint], ['deliveryPolicy', this.deliveryPolicy]] as const) {
      const otherAccount = accountOf(other);
      if (otherAccount !== account) {
        issues.push({
          path: this.node.path, field, received: `${other.node.path} (account ${otherAccount.accountName})`,
          allowed: `a ${field === 'endpoint' ? 'streaming endpoint' : 'delivery policy'} of the program's account ${account.accountName}`,
        });
      }
    }
    if (issues.length) throw new LivestackValidationError(issues);
  }

  /** HLS master playlist URL; undefined when the id is derived at run time (`livestack status` shows it). */
  get hlsUrl(): string | undefined { return this.locatorId && `${this.endpoint.url}/${this.locatorId}/${this.program.manifestName}.m3u8`; }

  /** DASH MPD URL; undefined when the id is derived at run time (`livestack status` shows it). */
  get dashUrl(): string | undefined { return this.locatorId && `${this.endpoint.url}/${this.locatorId}/${this.program.manifestName}.mpd`; }

  toManifest(): LocatorManifest {
    return {
      name: this.locatorName,
      path: this.node.path,
      ...(this.locatorId !== undefined ? { id: this.locatorId } : {}),
      channel: this.program.channel.channelName,
      program: this.program.programName,
      endpoint: this.endpoint.endpointName,
      deliveryPolicy: this.deliveryPolicy.policyName,
      start: this.start,
      end: this.end,
    };
  }
}

/** A readable name unique in the account: channel, program and the locator's id, as a DNS label. */
function defaultLocatorName(program: ProgramScope, id: string): string {
  const name = `${program.channel.channelName}-${program.programName}-${id}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  return name.length <= 63 ? name : `${name.slice(0, 50)}-${derivedUuid(name).slice(0, 12)}`;
}
