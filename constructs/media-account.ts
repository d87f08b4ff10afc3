import { TerraformStack } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { z } from 'zod';
import { formatIssue } from '../lib/model/errors';
import { AccountManifest } from '../lib/model/manifest';
import { kubernetesOptions, mediaAccountProps, swarmOptions } from '../lib/model/props';
import { validateProps } from '../lib/model/validate';
import { markAccountSource } from '../lib/model/account-source';
import { RuntimeImage } from '../lib/model/values/runtime-image';
import { Platform } from '../lib/model/values/platform';
import { LivestackStackSynthesis } from '../lib/synth/stack-synthesis';
import { DeliveryPolicy, DeliveryPolicyProps } from './delivery-policy';
import { KeyPolicy, KeyPolicyProps } from './key-policy';
import { LiveChannel, LiveChannelProps } from './live-channel';
import { constructName } from './private/naming';
import { accountOf, AccountScope, brand, childrenOf, isAccount } from './private/scopes';
import { StreamingEndpoint, StreamingEndpointProps } from './streaming-endpoint';

/** Props of a MediaAccount. */
export interface MediaAccountProps {
  /** Account name: a DNS label, used in workload, volume and network names. @default - the construct id */
  readonly name?: string;
  /** The image every workload runs. @default RuntimeImage.build() (livestack's Dockerfile) */
  readonly runtimeImage?: RuntimeImage;
  /** Address that published ports (ingest, origins, key delivery) bind to. Use `0.0.0.0` to serve other hosts. @default '127.0.0.1' */
  readonly bindAddress?: string;
  /**
   * Where media, content keys and generated secrets live: a local Docker volume, or a filesystem shared
   * by every host (NFS, EFS, CephFS, Azure Files) that each host mounts at `shared.hostPath` and every
   * workload sees at the same path; recordings are hard links, so live segments and recordings stay on
   * that one filesystem. Several Swarm hosts need `shared`.
   * @default - a Docker volume `livestack-<name>-storage`
   */
  readonly storage?: { readonly volumeName?: string; readonly shared?: { readonly hostPath: string } };
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
  /**
   * Where the workloads run: one Docker host (`cdktf deploy` with the Docker provider, or the livestack
   * runtime), or a Kubernetes cluster (`cdktf deploy` with the Kubernetes provider, or the YAML of
   * `livestack synth --kubernetes-out DIR` for Argo CD / Flux). On Kubernetes, `runtimeImage` must name
   * an image the cluster can pull (`RuntimeImage.fromName(...)`).
   * @default Platform.docker()
   */
  readonly platform?: Platform;
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
export class MediaAccount extends Construct implements AccountScope {
  /** True when `x` is a MediaAccount (works across copies of the library). */
  static isMediaAccount(x: unknown): x is MediaAccount {
    return isAccount(x);
  }

  /** The account a construct belongs to: itself or its nearest MediaAccount ancestor. */
  static of(construct: IConstruct): MediaAccount {
    return accountOf(construct) as MediaAccount;
  }

  readonly accountName: string;
  readonly runtimeImage: RuntimeImage;
  readonly bindAddress: string;
  readonly maxChannels: number;
  readonly platform: Platform;
  private readonly resolved: ReturnType<typeof mediaAccountProps.parse>;

  constructor(scope: Construct, id: string, props: MediaAccountProps = {}) {
    super(scope, id);
    brand(this, 'account');
    markAccountSource(this);
    this.resolved = validateProps(mediaAccountProps, props, this.node.path);
    this.accountName = constructName(this, this.resolved.name);
    this.runtimeImage = this.resolved.runtimeImage ?? RuntimeImage.build();
    this.bindAddress = this.resolved.bindAddress ?? '127.0.0.1';
    this.maxChannels = this.resolved.limits?.maxChannels ?? 5;
    this.platform = this.resolved.platform ?? Platform.docker();
    if (this.platform.kind === 'kubernetes') validateProps(z.strictObject({ platform: kubernetesOptions }), { platform: this.platform.options }, this.node.path);
    if (this.platform.kind === 'swarm') validateProps(z.strictObject({ platform: swarmOptions }), { platform: this.platform.options }, this.node.path);
    // The stack's synthesis finds its accounts itself (node.findAll) and checks the whole desired state
    // late, once everything is declared (lib/model/rules.ts); the account reports the issues about it.
    const synthesis = LivestackStackSynthesis.of(TerraformStack.of(this));
    this.node.addValidation({ validate: () => synthesis.issuesOf(this.node.path).map(formatIssue) });
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

  /** The streaming endpoints of this account, in creation order. */
  get allEndpoints(): readonly StreamingEndpoint[] { return childrenOf(this, isEndpoint); }

  /** The live channels of this account, in creation order. */
  get allChannels(): readonly LiveChannel[] { return childrenOf(this, isLiveChannel); }

  /**
   * The account's default delivery policy (clear HLS and DASH), created on first use.
   * Locators published without a delivery policy use it.
   */
  defaultDeliveryPolicy(): DeliveryPolicy {
    const existing = this.node.tryFindChild('DefaultDeliveryPolicy') as DeliveryPolicy | undefined;
    return existing ?? this.addDeliveryPolicy('DefaultDeliveryPolicy', { name: 'default-clear' });
  }

  /** The account in manifest form (desired state). */
  toManifest(): AccountManifest {
    const channels = this.allChannels;
    return {
      name: this.accountName,
      path: this.node.path,
      image: this.runtimeImage.name,
      ...(this.runtimeImage.baseImage !== undefined ? { imageBuild: { baseImage: this.runtimeImage.baseImage } } : {}),
      bindAddress: this.bindAddress,
      storage: {
        volume: this.resolved.storage?.volumeName ?? `livestack-${this.accountName}-storage`,
        ...(this.resolved.storage?.shared ? { shared: { hostPath: this.resolved.storage.shared.hostPath } } : {}),
      },
      network: { name: this.resolved.network?.name ?? `livestack-${this.accountName}` },
      keyDelivery: {
        port: this.keyDeliveryPort,
        allowList: this.resolved.keyDelivery?.allowList ?? [],
        publicBaseUrl: this.resolved.keyDelivery?.publicBaseUrl,
      },
      limits: { maxChannels: this.maxChannels },
      // Docker is the default and is left out, so the manifests of Docker apps stay as they were.
      ...(this.platform.kind !== 'docker' ? { platform: this.platform.toManifest(this.accountName) } : {}),
      endpoints: this.allEndpoints.map((e) => e.toManifest()),
      channels: channels.map((c) => c.toManifest()),
      keyPolicies: childrenOf(this, isKeyPolicy).map((k) => k.toManifest()),
      deliveryPolicies: childrenOf(this, isDeliveryPolicy).map((d) => d.toManifest()),
      locators: channels.flatMap((c) => c.allPrograms.flatMap((p) => p.allLocators.map((l) => l.toManifest()))),
    };
  }

  /** Port of the account's key delivery service. */
  get keyDeliveryPort(): number { return this.resolved.keyDelivery?.port ?? 8090; }
}

const isEndpoint = (x: unknown): x is StreamingEndpoint => x instanceof StreamingEndpoint;
const isLiveChannel = (x: unknown): x is LiveChannel => x instanceof LiveChannel;
const isKeyPolicy = (x: unknown): x is KeyPolicy => x instanceof KeyPolicy;
const isDeliveryPolicy = (x: unknown): x is DeliveryPolicy => x instanceof DeliveryPolicy;
