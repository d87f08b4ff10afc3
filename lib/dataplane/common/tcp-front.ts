/**
 * A TCP front door that bounds what one client address can hold, in front of a server that cannot
 * (nginx-rtmp has no per-address limit: 600 idle connections from one address used to fill its
 * worker connections and keep the real encoder out). Admitted connections are passed on to the
 * upstream on loopback, prefixed with a PROXY protocol v1 header so the upstream still sees (and its
 * callbacks still check) the client's own address.
 *
 * - A connection is *pending* until the client has sent `establishedAfterBytes` (for RTMP, the two
 *   handshake packets C0+C1 and C2); a pending connection that sends nothing in time is closed.
 * - Per address: at most `maxPendingPerAddress` pending connections — a new one closes that address's
 *   oldest pending one, so idle connections can never keep a fresh one out — and at most
 *   `maxPerAddress` in all (beyond it, new connections are refused unless a pending one can go).
 * - In all: at most `maxConnections`, keeping room in the upstream for its own work (nginx-rtmp's
 *   publish check is an HTTP callback that needs a worker connection of its own).
 * - What was refused or closed is logged as one summary line per address and interval, never a
 *   line per connection.
 */
import * as net from 'node:net';
import { Logger } from './log';

export interface TcpFrontLimits {
  /** Connections one address may hold. @default 16 */
  readonly maxPerAddress?: number;
  /** Connections one address may hold before they are established. @default 4 */
  readonly maxPendingPerAddress?: number;
  /** Connections in all. @default 512 */
  readonly maxConnections?: number;
  /** Bytes a client sends before its connection counts as established. @default 3073 (RTMP C0+C1+C2) */
  readonly establishedAfterBytes?: number;
  /** How long a connection may stay pending. @default 5000 */
  readonly pendingTimeoutMs?: number;
  /** At most one summary line per address and interval. @default 10000 */
  readonly logIntervalMs?: number;
}

export interface TcpFrontOptions extends TcpFrontLimits {
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  readonly log: Logger;
  /** What the front stands for, in log lines, e.g. `RTMP`. */
  readonly label: string;
}

interface Admitted {
  readonly client: net.Socket;
  readonly address: string;
  readonly since: number;
  pending: boolean;
  received: number;
  timer?: NodeJS.Timeout;
}

interface Dropped {
  refused: number;
  closedIdle: number;
  loggedAt: number;
}

/** RTMP: C0 (1 byte) + C1 (1536) + C2 (1536). */
const RTMP_HANDSHAKE_BYTES = 3073;

export class TcpFront {
  private readonly server: net.Server;
  private readonly byAddress = new Map<string, Admitted[]>();
  private readonly dropped = new Map<string, Dropped>();
  private total = 0;
  private readonly limits: Required<TcpFrontLimits>;

  constructor(private readonly options: TcpFrontOptions) {
    this.limits = {
      maxPerAddress: options.maxPerAddress ?? 16,
      maxPendingPerAddress: options.maxPendingPerAddress ?? 4,
      maxConnections: options.maxConnections ?? 512,
      establishedAfterBytes: options.establishedAfterBytes ?? RTMP_HANDSHAKE_BYTES,
      pendingTimeoutMs: options.pendingTimeoutMs ?? 5_000,
      logIntervalMs: options.logIntervalMs ?? 10_000,
    };
    this.server = net.createServer({ noDelay: true }, (client) => this.accept(client));
    // Enough for a burst of attackers and the encoder's reconnect: the kernel queue is not the limit.
    this.server.maxConnections = this.limits.maxConnections * 2;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, backlog: 1024 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Connections held now, in all and pending. */
  get counts(): { readonly total: number; readonly pending: number } {
    let pending = 0;
    for (const list of this.byAddress.values()) pending += list.filter((c) => c.pending).length;
    return { total: this.total, pending };
  }

  close(): Promise<void> {
    for (const list of this.byAddress.values()) for (const c of list) c.client.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const address = normalize(client.remoteAddress);
    client.on('error', () => undefined);
    if (!address) return void client.destroy();
    const list = this.byAddress.get(address) ?? [];
    const pending = list.filter((c) => c.pending);
    // Idle connections give way to a new one: closing the oldest pending keeps every address able to get in.
    if (pending.length >= this.limits.maxPendingPerAddress || (list.length >= this.limits.maxPerAddress && pending.length > 0)) {
      this.closeIdle(pending[0]);
    } else if (list.length >= this.limits.maxPerAddress) {
      return this.refuse(client, address);
    }
    if (this.total >= this.limits.maxConnections) {
      const oldestPending = this.oldestPendingAnywhere();
      if (!oldestPending) return this.refuse(client, address);
      this.closeIdle(oldestPending);
    }
    this.admit(client, address);
  }

  private admit(client: net.Socket, address: string): void {
    const entry: Admitted = { client, address, since: Date.now(), pending: true, received: 0 };
    const list = this.byAddress.get(address) ?? [];
    list.push(entry);
    this.byAddress.set(address, list);
    this.total++;
    entry.timer = setTimeout(() => {
      if (entry.pending) this.closeIdle(entry);
    }, this.limits.pendingTimeoutMs);
    const upstream = net.connect({ host: this.options.upstreamHost, port: this.options.upstreamPort, noDelay: true });
    upstream.on('error', () => client.destroy());
    upstream.write(proxyHeader(client));
    client.on('data', (chunk: Buffer) => {
      if (!entry.pending) return;
      entry.received += chunk.length;
      if (entry.received >= this.limits.establishedAfterBytes) {
        entry.pending = false;
        clearTimeout(entry.timer);
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const forget = () => {
      client.destroy();
      upstream.destroy();
      this.forget(entry);
    };
    client.once('close', forget);
    upstream.once('close', forget);
  }

  private forget(entry: Admitted): void {
    clearTimeout(entry.timer);
    const list = this.byAddress.get(entry.address);
    const index = list?.indexOf(entry) ?? -1;
    if (!list || index < 0) return;
    list.splice(index, 1);
    this.total--;
    if (list.length === 0) this.byAddress.delete(entry.address);
  }

  private closeIdle(entry: Admitted | undefined): void {
    if (!entry) return;
    this.forget(entry);
    entry.client.destroy();
    this.note(entry.address, 'closedIdle');
  }

  private refuse(client: net.Socket, address: string): void {
    client.destroy();
    this.note(address, 'refused');
  }

  private oldestPendingAnywhere(): Admitted | undefined {
    let oldest: Admitted | undefined;
    for (const list of this.byAddress.values()) {
      for (const c of list) if (c.pending && (!oldest || c.since < oldest.since)) oldest = c;
    }
    return oldest;
  }

  /** Counts a drop; logs one summary per address and interval (a flood must not flood the log too). */
  private note(address: string, kind: 'refused' | 'closedIdle'): void {
    const now = Date.now();
    const counts = this.dropped.get(address) ?? { refused: 0, closedIdle: 0, loggedAt: 0 };
    counts[kind]++;
    this.dropped.set(address, counts);
    if (now - counts.loggedAt < this.limits.logIntervalMs) return;
    this.options.log.error(`${this.options.label}: ${address} holds too many connections: refused ${counts.refused}, closed ${counts.closedIdle} idle `
      + `(limits per address: ${this.limits.maxPerAddress}, of which ${this.limits.maxPendingPerAddress} before the handshake; next summary in ${this.limits.logIntervalMs / 1000} s at most)`);
    this.dropped.set(address, { refused: 0, closedIdle: 0, loggedAt: now });
    if (this.dropped.size > 4096) this.dropped.clear();
  }
}

function normalize(address: string | undefined): string | undefined {
  if (!address) return undefined;
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** PROXY protocol v1 header naming the client (what nginx-rtmp's `listen ... proxy_protocol` reads). */
function proxyHeader(client: net.Socket): string {
  const source = normalize(client.remoteAddress) ?? '0.0.0.0';
  const destination = normalize(client.localAddress) ?? '0.0.0.0';
  const family = net.isIPv4(source) && net.isIPv4(destination) ? 'TCP4' : 'TCP6';
  const v6 = (a: string) => (net.isIPv4(a) ? `::ffff:${a}` : a);
  const [src, dst] = family === 'TCP4' ? [source, destination] : [v6(source), v6(destination)];
  return `PROXY ${family} ${src} ${dst} ${client.remotePort ?? 0} ${client.localPort ?? 0}\r\n`;
}
