/**
 * A lossy network path for SRT tests, where no netem qdisc is available: a UDP relay on loopback that
 * forwards each client's datagrams to a target (one upstream socket per client, so replies find their
 * way back) and drops a share of them and delays the rest, in both directions. Drops come from a seeded
 * generator, so a run can be repeated.
 */
import * as dgram from 'node:dgram';

export interface LossyRelayOptions {
  readonly targetPort: number;
  /** Share of datagrams dropped in each direction, 0-1. */
  readonly dropRate: number;
  /** Delay added to every forwarded datagram, in each direction. */
  readonly delayMs: number;
  /** @default 1 */
  readonly seed?: number;
}

export interface LossyRelay {
  readonly port: number;
  /** Datagrams forwarded and dropped so far, both directions. */
  counts(): { forwarded: number; dropped: number };
  close(): Promise<void>;
}

export async function startLossyRelay(options: LossyRelayOptions): Promise<LossyRelay> {
  const random = mulberry32(options.seed ?? 1);
  const front = dgram.createSocket('udp4');
  const upstreams = new Map<string, dgram.Socket>();
  let forwarded = 0;
  let dropped = 0;
  let closed = false;
  const timers = new Set<NodeJS.Timeout>();

  const pass = (send: () => void) => {
    if (random() < options.dropRate) {
      dropped++;
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (closed) return;
      forwarded++;
      send();
    }, options.delayMs);
    timers.add(timer);
  };

  front.on('message', (message, client) => {
    const key = `${client.address}:${client.port}`;
    let upstream = upstreams.get(key);
    if (!upstream) {
      upstream = dgram.createSocket('udp4');
      upstream.on('message', (reply) => pass(() => front.send(reply, client.port, client.address)));
      upstream.on('error', () => undefined);
      upstream.bind(0, '127.0.0.1');
      upstreams.set(key, upstream);
    }
    const socket = upstream;
    pass(() => socket.send(message, options.targetPort, '127.0.0.1'));
  });
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));

  return {
    port: front.address().port,
    counts: () => ({ forwarded, dropped }),
    close: async () => {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([front, ...upstreams.values()].map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}

/** A small seeded generator (mulberry32): uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
