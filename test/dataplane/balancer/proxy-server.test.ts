/**
 * The balancer's proxy against real HTTP servers standing in for origin replicas (in this process, on
 * loopback): round robin, passive failover, X-Forwarded-For, streaming bodies, health and metrics.
 */
import * as http from 'node:http';
import { createLogger } from '../../../lib/dataplane/origin/log';
import { ProxyServer } from '../../../lib/dataplane/balancer/proxy-server';
import { UpstreamPool } from '../../../lib/dataplane/balancer/upstream-pool';
import { freePort } from '../../runtime/fixtures/manifest';
import { eventually } from '../../runtime/support/eventually';

interface Replica {
  readonly name: string;
  readonly port: number;
  readonly seen: { path: string; forwardedFor?: string; host?: string }[];
  server?: http.Server;
}

/** A replica that answers who it is, echoes POST bodies, and streams /stream slowly. */
function startReplica(replica: Replica): Promise<void> {
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') return void res.end('ok');
    replica.seen.push({ path: req.url ?? '', forwardedFor: req.headers['x-forwarded-for'] as string | undefined, host: req.headers.host });
    if (req.method === 'POST') {
      res.writeHead(200, { 'X-Replica': replica.name });
      return void req.pipe(res);
    }
    if (req.url === '/stream') {
      res.writeHead(200, { 'X-Replica': replica.name });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(64 * 1024, sent));
        if (++sent === 8) {
          clearInterval(timer);
          res.end();
        }
      }, 5);
      return;
    }
    res.writeHead(200, { 'X-Replica': replica.name, Connection: 'keep-alive' }).end(replica.name);
  });
  replica.server = server;
  return new Promise((resolve) => server.listen(replica.port, '127.0.0.1', () => resolve()));
}

function stopReplica(replica: Replica): Promise<void> {
  return new Promise((resolve) => {
    replica.server!.close(() => resolve());
    replica.server!.closeAllConnections();
  });
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; replica?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, replica: res.headers['x-replica'] as string | undefined, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('balancer proxy', () => {
  let replicas: Replica[];
  let pool: UpstreamPool;
  let proxy: ProxyServer;
  let port: number;

  beforeEach(async () => {
    replicas = [];
    for (const name of ['a', 'b', 'c']) replicas.push({ name, port: await freePort(), seen: [] });
    for (const replica of replicas) await startReplica(replica);
    pool = new UpstreamPool(replicas.map((r) => ({ host: '127.0.0.1', port: r.port })));
    proxy = new ProxyServer({ pool, workloadName: 'test-balancer', log: createLogger('test-balancer', { write: () => true } as unknown as NodeJS.WritableStream) });
    port = (await proxy.listen('127.0.0.1', 0)).port;
    await pool.startProbing();
  });

  afterEach(async () => {
    pool.stop();
    await proxy.close();
    for (const replica of replicas) if (replica.server?.listening) await stopReplica(replica);
  });

  test('spreads requests round robin over every replica', async () => {
    // WHEN 30 requests arrive one after the other
    const answers: string[] = [];
    for (let i = 0; i < 30; i++) answers.push((await get(port, `/r/${i}`)).replica!);

    // THEN each replica served exactly a third of them
    expect(['a', 'b', 'c'].map((name) => answers.filter((a) => a === name).length)).toEqual([10, 10, 10]);
  });

  test('a replica that is down costs no failed request', async () => {
    // GIVEN replica b stopped (its port refuses connections) before the balancer noticed
    await stopReplica(replicas[1]);

    // WHEN 30 requests arrive
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => get(port, `/r/${i}`)));

    // THEN every one succeeded, on a and c only
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(new Set(results.map((r) => r.replica))).toEqual(new Set(['a', 'c']));
    // AND its metrics count the failed attempts on b and mark it down
    const metrics = (await get(port, '/metrics')).body.toString();
    expect(metrics).toMatch(new RegExp(`livestack_balancer_upstream_attempts_total\\{upstream="127.0.0.1:${replicas[1].port}",result="failed",workload="test-balancer"\\} [1-9]`));
    expect(metrics).toContain(`livestack_balancer_upstream_up{upstream="127.0.0.1:${replicas[1].port}",workload="test-balancer"} 0`);
  });

  test('appends the client address to X-Forwarded-For and keeps the Host header', async () => {
    // WHEN a client sends a request that already carries a forwarded-for hop
    await get(port, '/who', { 'X-Forwarded-For': '198.51.100.7', Host: 'media.example.test:8080' });

    // THEN the replica sees that hop followed by the client's real address, and the player's host
    const seen = replicas.flatMap((r) => r.seen).find((s) => s.path === '/who')!;
    expect(seen.forwardedFor).toBe('198.51.100.7, 127.0.0.1');
    expect(seen.host).toBe('media.example.test:8080');
  });

  test('streams request and response bodies', async () => {
    // WHEN a 4 MiB body is posted and a slow 512 KiB response is read
    const body = Buffer.alloc(4 * 1024 * 1024, 7);
    const echoed = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
      req.on('error', reject);
      req.end(body);
    });
    const streamed = await get(port, '/stream');

    // THEN both arrive whole
    expect(echoed.equals(body)).toBe(true);
    expect(streamed.body.length).toBe(8 * 64 * 1024);
  });

  test('/healthz answers while a replica is healthy and refuses when none is', async () => {
    expect((await get(port, '/healthz')).status).toBe(200);

    // WHEN every replica stops
    for (const replica of replicas) await stopReplica(replica);

    // THEN health fails within a probe interval, and requests get a 502
    await eventually('the balancer to report no healthy replica', async () => ((await get(port, '/healthz')).status === 503 ? true : undefined), 5_000);
    expect((await get(port, '/r/1')).status).toBe(502);
  });
});
