import { Construct } from 'constructs';
import { EndpointManifest, RunState } from '../lib/model/manifest';
import { streamingEndpointProps } from '../lib/model/props';
import { validateProps } from '../lib/model/validate';
import { endpointBaseUrl } from '../lib/model/public-urls';
import { Duration } from '../lib/model/values/duration';
import { constructName } from './private/naming';
import { accountOf, AccountScope, EndpointRef } from './private/scopes';

/** HTTP port of an endpoint that sets none. */
const DEFAULT_PORT = 8080;

/** Props of a StreamingEndpoint. */
export interface StreamingEndpointProps {
  /** Endpoint name (DNS label). @default - the construct id */
  readonly name?: string;
  /**
   * Host port players connect to. Every endpoint defaults to 8080, so an account with several endpoints
   * sets this on all but one: a port never depends on an endpoint's position among its siblings.
   * @default 8080
   */
  readonly port?: number;
  /** Scale units, 0-64: each unit adds an origin replica (0 and 1 both run one replica). @default 0 */
  readonly scaleUnits?: number;
  /** CORS: origins allowed to fetch manifests and segments from a browser. @default - { allowedOrigins: ['*'] } */
  readonly cors?: { readonly allowedOrigins: string[] };
  /** Addresses or CIDR blocks allowed to play. @default - all */
  readonly allowList?: string[];
  /** Custom host names served: the first is the host of playback and key URLs (TLS is in front). @default - none */
  readonly hostNames?: string[];
  /**
   * Addresses or CIDR blocks of reverse proxies in front of this endpoint. Only requests from them have
   * their X-Forwarded-For (client address for the allow list) and X-Forwarded-Host/-Proto (host of key
   * URIs, when no `keyDelivery.publicBaseUrl` is set) believed; from anyone else those headers are ignored.
   * @default [] - none: the socket's address is the client's, key URIs come from configuration
   */
  readonly trustedProxies?: string[];
  /** `Cache-Control: max-age` of immutable segments. @default Duration.days(1) */
  readonly maxCacheAge?: Duration;
  /** Declared run state: `stopped` removes the origin workloads (locators stay declared). @default 'running' */
  readonly state?: RunState;
}

/** An origin that serves the account's locators as HLS and DASH (AMS streaming endpoint). */
export class StreamingEndpoint extends Construct implements EndpointRef {
  readonly endpointName: string;
  readonly account: AccountScope;
  /** Host port of the endpoint. */
  readonly port: number;
  readonly scaleUnits: number;
  private readonly resolved: ReturnType<typeof streamingEndpointProps.parse>;

  constructor(account: AccountScope, id: string, props: StreamingEndpointProps = {}) {
    super(account, id);
    this.resolved = validateProps(streamingEndpointProps, props, this.node.path);
    this.account = accountOf(this);
    this.endpointName = constructName(this, this.resolved.name);
    this.port = this.resolved.port ?? DEFAULT_PORT;
    this.scaleUnits = this.resolved.scaleUnits ?? 0;
  }

  /** Base playback URL of this endpoint, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    return endpointBaseUrl(this.account.bindAddress, this.port, this.resolved.hostNames);
  }

  toManifest(): EndpointManifest {
    return {
      name: this.endpointName,
      path: this.node.path,
      port: this.port,
      scaleUnits: this.scaleUnits,
      corsAllowedOrigins: this.resolved.cors?.allowedOrigins ?? ['*'],
      allowList: this.resolved.allowList ?? [],
      hostNames: this.resolved.hostNames ?? [],
      trustedProxies: this.resolved.trustedProxies ?? [],
      maxCacheAgeSeconds: Math.round((this.resolved.maxCacheAge ?? Duration.days(1)).toSeconds()),
      state: this.resolved.state ?? 'running',
    };
  }
}
