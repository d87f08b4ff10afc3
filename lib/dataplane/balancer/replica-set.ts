/**
 * The origin replicas behind a balancer, as the control process sees them every second: where each
 * one is (its workload name resolved on the account network: containers come back with new
 * addresses) and whether it answers its /healthz.
 *
 * nginx is told each replica's address, and which ones have been down for a while. Every change is
 * an nginx reload, and a reload closes players' idle keep-alive connections (a request racing with
 * that close fails unless the player retries it, as browsers and ffmpeg do), so changes are kept
 * rare: a name that stops resolving keeps its last address (a replica being replaced comes back, and
 * nginx skips an unreachable address on its own), and a few failed probes are not enough to take a
 * replica out (nginx's passive failover covers those seconds).
 */
import { Resolver } from 'node:dns/promises';
import * as http from 'node:http';
import { isIP } from 'node:net';
import { UpstreamServer } from './balancer-nginx-config';

export type ReplicaState = 'unknown' | 'up' | 'down';

export interface ReplicaTarget {
  /** A workload name on the account network, or an address (the local driver's 127.0.0.1). */
  readonly host: string;
  readonly port: number;
}

/**
 * Consecutive failed probes (a second apart) after which nginx stops sending a replica requests: longer
 * than a replica takes to be replaced, so a repair costs no reload; nginx skips it meanwhile by itself.
 */
const OUT_AFTER_FAILURES = 5;

export class Replica {
  /** `host:port` as configured, for metrics and logs. */
  readonly label: string;
  /** `ip:port` it resolved to last; undefined until its name first resolves. */
  address?: string;
  /** Whether it answered its latest probe (/healthz and metrics). */
  state: ReplicaState = 'unknown';
  consecutiveFailures = 0;
  lastError?: string;

  constructor(readonly host: string, readonly port: number) {
    this.label = `${host}:${port}`;
  }
}

export interface ReplicaSetOptions {
  readonly intervalMs?: number;
  /** Bound on one name lookup and one health probe. */
  readonly timeoutMs?: number;
  /** A replica went up or down. */
  readonly onStateChange?: (replica: Replica, previous: ReplicaState) => void;
  /** The servers nginx should use changed (an address moved, a replica went up or down). */
  readonly onServersChange?: (servers: UpstreamServer[]) => void;
}

export class ReplicaSet {
  readonly replicas: readonly Replica[];
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly resolver: Resolver;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastServers = '';

  constructor(targets: readonly ReplicaTarget[], private readonly options: ReplicaSetOptions = {}) {
    if (targets.length === 0) throw new Error('a balancer needs at least one origin replica');
    this.replicas = targets.map((t) => new Replica(t.host, t.port));
    this.intervalMs = options.intervalMs ?? 1_000;
    this.timeoutMs = options.timeoutMs ?? 1_000;
    // c-ares with one short try: a name that does not resolve (a removed container) must not hold a
    // libuv thread the way getaddrinfo would while the query times out upstream.
    this.resolver = new Resolver({ timeout: this.timeoutMs, tries: 1 });
  }

  /** Resolve and probe every replica now, then every interval until `stop()`. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.running ??= this.refresh().finally(() => { this.running = undefined; });
    }, this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.resolver.cancel();
  }

  /** The servers nginx should use: every replica with a known address, and whether it is in service. */
  servers(): UpstreamServer[] {
    return this.replicas.flatMap((r) => (r.address ? [{ address: r.address, up: r.consecutiveFailures < OUT_AFTER_FAILURES }] : []));
  }

  /** At least one replica answered its latest probe. */
  get anyUp(): boolean {
    return this.replicas.some((r) => r.state === 'up');
  }

  /** The replica behind an `ip:port` nginx logged. */
  byAddress(address: string): Replica | undefined {
    return this.replicas.find((r) => r.address === address);
  }

  private async refresh(): Promise<void> {
    await Promise.all(this.replicas.map((r) => this.check(r)));
    const servers = this.servers();
    const key = JSON.stringify(servers);
    if (key !== this.lastServers) {
      this.lastServers = key;
      this.options.onServersChange?.(servers);
    }
  }

  private async check(replica: Replica): Promise<void> {
    const ip = await this.resolve(replica.host);
    if (ip !== undefined) replica.address = `${ip.includes(':') ? `[${ip}]` : ip}:${replica.port}`;
    const error = ip === undefined ? `${replica.host} does not resolve` : await probe(ip, replica.port, this.timeoutMs);
    replica.lastError = error;
    replica.consecutiveFailures = error === undefined ? 0 : replica.consecutiveFailures + 1;
    const previous = replica.state;
    replica.state = error === undefined ? 'up' : 'down';
    if (replica.state !== previous) this.options.onStateChange?.(replica, previous);
  }

  private async resolve(host: string): Promise<string | undefined> {
    if (isIP(host)) return host;
    if (host === 'localhost') return '127.0.0.1';
    try {
      return (await this.resolver.resolve4(host))[0];
    } catch {
      return undefined;
    }
  }
}

/** GET /healthz on a fresh connection; undefined when it answered 2xx, else why not. */
function probe(ip: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host: ip, port, path: '/healthz', agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 300 ? undefined : `health check answered ${status}`);
    });
    request.on('timeout', () => request.destroy(new Error(`health check timed out after ${timeoutMs} ms`)));
    request.on('error', (error) => resolve(error.message));
  });
}
