/**
 * The origin replicas behind a balancer and what is known of their health. Requests go round robin
 * over the replicas believed up; a replica is believed down after a failed connection (passive) or a
 * failed probe of its /healthz (active, every second), and up again after its next successful probe.
 */
import * as http from 'node:http';

export type UpstreamState = 'unknown' | 'up' | 'down';

export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
}

export class Upstream {
  /** `host:port`, for metrics and logs. */
  readonly label: string;
  /** Keep-alive connections to this replica: a request rarely pays for a TCP handshake. */
  readonly agent: http.Agent;
  state: UpstreamState = 'unknown';
  /** Set by a passive failure: the replica is skipped until then even if a probe says otherwise. */
  downUntil = 0;
  lastError?: string;

  constructor(readonly host: string, readonly port: number) {
    this.label = `${host}:${port}`;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' });
  }

  usable(now: number): boolean {
    return this.state !== 'down' && now >= this.downUntil;
  }
}

export interface UpstreamPoolOptions {
  readonly probeIntervalMs?: number;
  readonly probeTimeoutMs?: number;
  /** How long a replica that refused a connection is skipped before a probe may bring it back. */
  readonly passiveDownMs?: number;
  /** A replica went up or down. */
  readonly onChange?: (upstream: Upstream, previous: UpstreamState) => void;
}

export class UpstreamPool {
  readonly upstreams: readonly Upstream[];
  private cursor = 0;
  private probeTimer?: NodeJS.Timeout;
  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly passiveDownMs: number;

  constructor(targets: readonly UpstreamTarget[], private readonly options: UpstreamPoolOptions = {}) {
    if (targets.length === 0) throw new Error('a balancer needs at least one upstream');
    this.upstreams = targets.map((t) => new Upstream(t.host, t.port));
    this.probeIntervalMs = options.probeIntervalMs ?? 1_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1_000;
    this.passiveDownMs = options.passiveDownMs ?? 1_000;
  }

  /**
   * The next replica to try, round robin, skipping those in `tried`. Replicas believed up come first;
   * when none is left, one believed down is still tried (it may be back before its probe says so).
   */
  next(tried?: readonly Upstream[]): Upstream | undefined {
    const count = this.upstreams.length;
    const now = Date.now();
    const start = this.cursor;
    let fallback: Upstream | undefined;
    for (let i = 0; i < count; i++) {
      const candidate = this.upstreams[(start + i) % count];
      if (tried !== undefined && tried.includes(candidate)) continue;
      if (candidate.usable(now)) {
        this.cursor = (start + i + 1) % count;
        return candidate;
      }
      fallback ??= candidate;
    }
    if (fallback) this.cursor = (this.upstreams.indexOf(fallback) + 1) % count;
    return fallback;
  }

  /** A connection to `upstream` failed: skip it for a while. */
  failed(upstream: Upstream, reason: string): void {
    upstream.downUntil = Date.now() + this.passiveDownMs;
    upstream.lastError = reason;
    this.setState(upstream, 'down');
  }

  /** At least one replica answered its latest probe. */
  get anyUp(): boolean {
    return this.upstreams.some((u) => u.state === 'up');
  }

  /** Probe every replica now and then every interval, until `stop()`. */
  startProbing(): Promise<void> {
    const round = () => Promise.all(this.upstreams.map((u) => this.probe(u))).then(() => undefined);
    this.probeTimer = setInterval(() => void round(), this.probeIntervalMs);
    this.probeTimer.unref();
    return round();
  }

  stop(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    for (const upstream of this.upstreams) upstream.agent.destroy();
  }

  private async probe(upstream: Upstream): Promise<void> {
    const error = await probeHealth(upstream, this.probeTimeoutMs);
    if (error === undefined) {
      upstream.downUntil = 0;
      upstream.lastError = undefined;
      this.setState(upstream, 'up');
    } else {
      upstream.lastError = error;
      this.setState(upstream, 'down');
    }
  }

  private setState(upstream: Upstream, state: UpstreamState): void {
    const previous = upstream.state;
    if (previous === state) return;
    upstream.state = state;
    this.options.onChange?.(upstream, previous);
  }
}

/** GET /healthz of a replica on a fresh connection; undefined when it answered 2xx, else why not. */
function probeHealth(upstream: Upstream, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host: upstream.host, port: upstream.port, path: '/healthz', agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 300 ? undefined : `health check answered ${status}`);
    });
    request.on('timeout', () => request.destroy(new Error(`health check timed out after ${timeoutMs} ms`)));
    request.on('error', (error) => resolve(error.message));
  });
}
