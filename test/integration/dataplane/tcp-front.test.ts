import * as net from 'node:net';
import { TcpFront } from '../../../lib/dataplane/common/tcp-front';
import { freePort } from '../../../bench/support/manifest-fixtures';
import { eventually } from '../../runtime/support/eventually';

/**
 * The TCP front on real loopback sockets: what one address can hold, what gives way, and what the
 * upstream is told (a PROXY v1 header with the client's address). Clients bind 127.0.0.2 and
 * 127.0.0.3 to stand for two addresses.
 */

interface Upstream {
  readonly server: net.Server;
  readonly headers: string[];
}

function startUpstream(port: number): Promise<Upstream> {
  const headers: string[] = [];
  const server = net.createServer((socket) => {
    let seen = '';
    socket.on('data', (chunk) => {
      if (!seen.includes('\r\n')) {
        seen += chunk.toString('latin1');
        if (seen.includes('\r\n')) headers.push(seen.slice(0, seen.indexOf('\r\n')));
      }
      socket.write(chunk);
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, headers })));
}

function connect(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

const closed = (socket: net.Socket) => socket.destroyed || socket.readyState === 'closed';

describe('TCP front', () => {
  let upstream: Upstream;
  let front: TcpFront;
  let port: number;
  const lines: string[] = [];
  const log = { info: (l: string) => lines.push(l), error: (l: string) => lines.push(l) } as never;
  const sockets: net.Socket[] = [];

  beforeEach(async () => {
    lines.length = 0;
    const upstreamPort = await freePort();
    upstream = await startUpstream(upstreamPort);
    port = await freePort();
    front = new TcpFront({ label: 'test', upstreamHost: '127.0.0.1', upstreamPort, log, maxPerAddress: 6, maxPendingPerAddress: 3, pendingTimeoutMs: 1_500, establishedAfterBytes: 10, logIntervalMs: 60_000 });
    await front.listen('127.0.0.1', port);
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await front.close();
    await new Promise((resolve) => upstream.server.close(resolve));
  });

  test('names the client to the upstream in a PROXY v1 header and relays both ways', async () => {
    const client = await connect(port, '127.0.0.3');
    sockets.push(client);
    const echoed = new Promise<string>((resolve) => client.once('data', (d) => resolve(d.toString())));
    client.write('hello');

    expect(await echoed).toMatch(/hello/);
    expect(upstream.headers[0]).toMatch(new RegExp(`^PROXY TCP4 127\\.0\\.0\\.3 127\\.0\\.0\\.1 ${client.localPort} ${port}$`));
  });

  test('GIVEN idle connections from one address WHEN more arrive THEN the oldest idle ones are closed, and another address still gets in', async () => {
    const idle: net.Socket[] = [];
    for (let i = 0; i < 10; i++) idle.push(await connect(port, '127.0.0.2'));
    sockets.push(...idle);

    await eventually('the front to hold at most 3 pending from the flooding address', () => (front.counts.pending <= 3 ? true : undefined), 5_000, 20);
    await eventually('the oldest idle connections closed', () => (idle.slice(0, 7).every(closed) ? true : undefined), 5_000, 20);
    const other = await connect(port, '127.0.0.3');
    sockets.push(other);
    const echoed = new Promise<string>((resolve) => other.once('data', (d) => resolve(d.toString())));
    other.write('0123456789-encoder');

    expect(await echoed).toContain('encoder');
    expect(idle.slice(7).some(closed)).toBe(false);
  });

  test('never closes an established connection to make room, and refuses beyond the per-address cap', async () => {
    const established: net.Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const socket = await connect(port, '127.0.0.2');
      socket.write('0123456789ab');
      established.push(socket);
    }
    sockets.push(...established);
    await eventually('six established', () => (front.counts.total === 6 && front.counts.pending === 0 ? true : undefined), 5_000, 20);

    const extra = await connect(port, '127.0.0.2');
    sockets.push(extra);

    await eventually('the extra connection refused', () => (closed(extra) ? true : undefined), 5_000, 20);
    expect(established.some(closed)).toBe(false);
  });

  test('closes a connection that sends nothing within the pending timeout, and logs one summary line for many drops', async () => {
    const idle = await connect(port, '127.0.0.2');
    sockets.push(idle);
    for (let i = 0; i < 20; i++) sockets.push(await connect(port, '127.0.0.2'));

    await eventually('the idle connection closed', () => (closed(idle) ? true : undefined), 5_000, 50);
    await eventually('every idle connection closed by the timeout', () => (front.counts.total === 0 ? true : undefined), 5_000, 50);
    expect(lines.filter((l) => l.includes('too many connections'))).toHaveLength(1);
  });
});
