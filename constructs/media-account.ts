import { TerraformStack } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { LivestackValidationError, ValidationIssue } from '../lib/model/errors';
import { AccountManifest } from '../lib/model/manifest';
import { mediaAccountProps } from '../lib/model/props';
import { validateProps } from '../lib/model/validate';
import { RuntimeImage } from '../lib/model/values/runtime-image';
import { LivestackStackSynthesis } from '../lib/synth/stack-synthesis';
import { constructName } from './private/naming';
// Circular imports are safe here: the classes are only used inside methods, never at load time.
import { DeliveryPolicy, DeliveryPolicyProps } from './delivery-policy';
import { KeyPolicy, KeyPolicyProps } from './key-policy';
import { LiveChannel, LiveChannelProps } from './live-channel';
import { StreamingEndpoint, StreamingEndpointProps } from './streaming-endpoint';

const ACCOUNT_SYMBOL = Symbol.for('livestack.MediaAccount');

/** Props of a MediaAccount. */
export interface MediaAccountProps {
  /** Account name: a DNS label, used in workload, volume and network names. @default - the construct id */
  readonly name?: string;
  /** The image every workload runs. @default RuntimeImage.build() (livestack's Dockerfile on node:20-bookworm-slim) */
  readonly runtimeImage?: RuntimeImage;
  /** Address that published ports (ingest, origins, key delivery) bind to. Use `0.0.0.0` to serve other hosts. @default '127.0.0.1' */
  readonly bindAddress?: string;
  /** Where media, content keys and generated secrets live. @default - a Docker volume `livestack-<name>-storage` */
  readonly storage?: { readonly volumeName?: string };
  /** The Docker network the account's workloads share. @default - `livestack-<name>` */
  readonly network?: { readonly name?: string };
  /** Key delivery service settings. @default - port 8090, open to every address, URL derived from the player's host */
  readonly keyDelivery?: {
    /** @default 8090 */
    readonly port?: number;
    /** Addresses or CIDR blocks allowed to request keys. @default - all */
    readonly allowList?: string[];
    /** Base URL written into `#EXT-X-KEY`. @default - the host the player used for the origin, on `port` */
    readonly publicBaseUrl?: string;
  };
  /** Quotas. @default - { maxChannels: 5 }, as in Azure Media Services */
  readonly limits?: { readonly maxChannels?: number };
}

/**
 * The tenant: everything livestack runs belongs to one account (AMS's Media Services account).
 *
 * @example
 * const account = new MediaAccount(stack, 'demo');
 * const endpoint = account.addStreamingEndpoint('main');
 * const channel = account.addLiveChannel('news');
 * channel.addProgram('evening').publish(endpoint);
 */
export class MediaAccount extends Construct {
  /** True when `x` is a MediaAccount (works across copies of the library). */
  static isMediaAccount(x: unknown): x is MediaAccount {
    return typeof x === 'object' && x !== null && ACCOUNT_SYMBOL in x;
  }

  /** The account a construct belongs to: itself or its nearest MediaAccount ancestor. */
  static of(construct: IConstruct): MediaAccount {
    const found = construct.node.scopes.slice().reverse().find(MediaAccount.isMediaAccount);
    if (!found) throw new Error(`${construct.node.path}: not inside a MediaAccount (create it with an account, a channel or a program as its scope)`);
    return found;
  }

  readonly accountName: string;
  readonly runtimeImage: RuntimeImage;
  readonly bindAddress: string;
  readonly maxChannels: number;

  private readonly resolved: ReturnType<typeof mediaAccountProps.parse>;
  private readonly endpoints: StreamingEndpoint[] = [];
  private readonly channels: LiveChannel[] = [];
  private readonly keyPolicies: KeyPolicy[] = [];
  private readonly deliveryPolicies: DeliveryPolicy[] = [];
  private readonly names = new Map<string, string>();

  constructor(scope: Construct, id: string, props: MediaAccountProps = {}) {
    super(scope, id);
    Object.defineProperty(this, ACCOUNT_SYMBOL, { value: true });
    this.resolved = validateProps(mediaAccountProps, props, this.node.path);
    this.accountName = constructName(this, this.resolved.name);
    this.runtimeImage = this.resolved.runtimeImage ?? RuntimeImage.build();
    this.bindAddress = this.resolved.bindAddress ?? '127.0.0.1';
    this.maxChannels = this.resolved.limits?.maxChannels ?? 5;
    LivestackStackSynthesis.of(TerraformStack.of(this)).register(this);
  }

  /** Adds a streaming endpoint (an origin) to this account. */
  addStreamingEndpoint(id: string, props: StreamingEndpointProps = {}): StreamingEndpoint {
    return new StreamingEndpoint(this, id, props);
  }

  /** Adds a live channel (an ingest point) to this account. */
  addLiveChannel(id: string, props: LiveChannelProps = {}): LiveChannel {
    return new LiveChannel(this, id, props);
  }

  /** Adds a content key policy to this account. */
  addKeyPolicy(id: string, props: KeyPolicyProps = {}): KeyPolicy {
    return new KeyPolicy(this, id, props);
  }

  /** Adds a delivery policy to this account. */
  addDeliveryPolicy(id: string, props: DeliveryPolicyProps = {}): DeliveryPolicy {
    return new DeliveryPolicy(this, id, props);
  }

  /** The streaming endpoints, live channels, ... of this account, in creation order. */
  get allEndpoints(): readonly StreamingEndpoint[] { return this.endpoints; }
  get allChannels(): readonly LiveChannel[] { return this.channels; }

  /**
   * The account's default delivery policy (clear HLS and DASH), created on first use.
   * Locators published without a delivery policy use it.
   */
  defaultDeliveryPolicy(): DeliveryPolicy {
    const existing = this.node.tryFindChild('DefaultDeliveryPolicy') as DeliveryPolicy | undefined;
    return existing ?? this.addDeliveryPolicy('DefaultDeliveryPolicy', { name: 'default-clear' });
  }

  /** @internal Registers a child and checks that its name is unique among its kind. */
  _register(kind: 'endpoint', child: StreamingEndpoint): number;
  _register(kind: 'channel', child: LiveChannel): number;
  _register(kind: 'key policy', child: KeyPolicy): number;
  _register(kind: 'delivery policy', child: DeliveryPolicy): number;
  _register(kind: string, child: StreamingEndpoint | LiveChannel | KeyPolicy | DeliveryPolicy): number {
    const name = 'endpointName' in child ? child.endpointName : 'channelName' in child ? child.channelName : child.policyName;
    this._claimName(kind, name, child.node.path);
    const list = ({ endpoint: this.endpoints, channel: this.channels, 'key policy': this.keyPolicies, 'delivery policy': this.deliveryPolicies } as Record<string, unknown[]>)[kind];
    if (kind === 'channel' && list.length >= this.maxChannels) {
      throw new LivestackValidationError([{
        path: child.node.path, field: 'channels', received: `channel number ${list.length + 1}`,
        allowed: `at most ${this.maxChannels} channels in account ${this.accountName} (raise limits.maxChannels)`,
      }]);
    }
    list.push(child);
    return list.length - 1;
  }

  /** @internal Reserves a name (channel, asset, ...) unique within the account. */
  _claimName(kind: string, name: string, path: string): void {
    const key = `${kind}:${name}`;
    const owner = this.names.get(key);
    if (owner !== undefined) {
      throw new LivestackValidationError([{
        path, field: 'name', received: JSON.stringify(name), allowed: `a ${kind} name not already used in account ${this.accountName} (taken by ${owner})`,
      }]);
    }
    this.names.set(key, path);
  }

  /** The account in manifest form (desired state). */
  toManifest(): AccountManifest {
    return {
      name: this.accountName,
      path: this.node.path,
      image: this.runtimeImage.name,
      bindAddress: this.bindAddress,
      storage: { volume: this.resolved.storage?.volumeName ?? `livestack-${this.accountName}-storage` },
      network: { name: this.resolved.network?.name ?? `livestack-${this.accountName}` },
      keyDelivery: {
        port: this.keyDeliveryPort,
        allowList: this.resolved.keyDelivery?.allowList ?? [],
        publicBaseUrl: this.resolved.keyDelivery?.publicBaseUrl,
      },
      limits: { maxChannels: this.maxChannels },
      endpoints: this.endpoints.map((e) => e.toManifest()),
      channels: this.channels.map((c) => c.toManifest()),
      keyPolicies: this.keyPolicies.map((k) => k.toManifest()),
      deliveryPolicies: this.deliveryPolicies.map((d) => d.toManifest()),
      locators: this.channels.flatMap((c) => c.allPrograms.flatMap((p) => p.allLocators.map((l) => l.toManifest()))),
    };
  }

  /** Port of the account's key delivery service. */
  get keyDeliveryPort(): number { return this.resolved.keyDelivery?.port ?? 8090; }

  /** Problems that need the whole account (late: after every add*() call). */
  validateAccount(): ValidationIssue[] {
    return [];
  }
}
