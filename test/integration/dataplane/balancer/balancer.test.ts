/**
 * The balancer (real nginx and its control process) in front of real HTTP servers standing in for
 * origin replicas (in this process, on loopback): round robin, passive failover, X-Forwarded-For,
 * streaming bodies, health and metrics.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../../../lib/dataplane/common/log';
import { Balancer } from '../../../../lib/dataplane/balancer/balancer';
import { AccessLogMetrics, parseAccessLogLine } from '../../../../lib/dataplane/balancer/access-log-metrics';
import { HttpMetrics } from '../../../../lib/dataplane/common/http-metrics';
import { freePort } from '../../../../bench/support/manifest-fixtures';
import { eventually } from '../../../runtime/support/eventually';

interface Replica {
  readonly name: string;
  readonly port: number;
  readonly seen: { path: string; forwardedFor?: string; host?: string; proof?: string }[];
  server?: http.Server;
}

/** A replica that answers who it is, echoes POST bodies, and streams /stream slowly. */
function startReplica(replica: Replica): Promise<void> {
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') return void res.end('ok');
    replica.seen.push({ path: req.url ?? '', forwardedFor: req.headers['x-forwarded-for'] as string | undefined, host: req.headers.host, proof: req.headers['x-livestack-balancer'] as string | undefined });
    if (req.method === 'POST') {
      const hash = createHash('sha256');
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      req.on('end', () => res.writeHead(200, { 'X-Replica': replica.name }).end(hash.digest('hex')));
      return;
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

jest.setTimeout(30_000);

describe('balancer', () => {
  let replicas: Replica[];
  let balancer: Balancer;
  let port: number;

  beforeEach(async () => {
    replicas = [];
    for (const name of ['a', 'b', 'c']) replicas.push({ name, port: await freePort(), seen: [] });
    for (const replica of replicas) await startReplica(replica);
    port = await freePort();
    balancer = new Balancer({
      proofToken: 'test-proof-token',
      workloadName: 'test-balancer',
      listenHost: '127.0.0.1',
      port,
      replicas: replicas.map((r) => ({ host: '127.0.0.1', port: r.port })),
      log: createLogger('test-balancer', { write: () => true } as unknown as NodeJS.WritableStream),
    });
    await balancer.start();
  });

  afterEach(async () => {
    await balancer.stop();
    for (const replica of replicas) if (replica.server?.listening) await stopReplica(replica);
  });

  async function metrics(): Promise<string> {
    return (await get(port, '/metrics')).body.toString();
  }

  test('spreads requests round robin over every replica', async () => {
    // WHEN 30 requests arrive one after the other
    const answers: string[] = [];
    for (let i = 0; i < 30; i++) answers.push((await get(port, `/r/${i}`)).replica!);

    // THEN each replica served exactly a third of them
    expect(['a', 'b', 'c'].map((name) => answers.filter((a) => a === name).length)).toEqual([10, 10, 10]);
    // AND the metrics counted them, from nginx's access log
    await eventually('30 proxied requests in the metrics', async () => (
      /livestack_balancer_requests_total\{kind="proxy",code="200",workload="test-balancer"\} 30\b/.test(await metrics()) ? true : undefined), 5_000);
  });

  test('a replica that is down costs no failed request', async () => {
    // GIVEN replica b stopped (its port refuses connections) before the balancer noticed
    await stopReplica(replicas[1]);

    // WHEN 30 requests arrive
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => get(port, `/r/${i}`)));

    // THEN every one succeeded, on a and c only
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(new Set(results.map((r) => r.replica))).toEqual(new Set(['a', 'c']));
    // AND its metrics count the failed attempts on b (from nginx's access log) and, after a probe, mark it down
    const b = `127.0.0.1:${replicas[1].port}`;
    await eventually('the failed attempts on b in the metrics', async () => (
      new RegExp(`livestack_balancer_upstream_attempts_total\\{upstream="${b}",result="failed",workload="test-balancer"\\} [1-9]`).test(await metrics()) ? true : undefined), 5_000);
    await eventually('b to be reported down', async () => (
      (await metrics()).includes(`livestack_balancer_upstream_up{upstream="${b}",workload="test-balancer"} 0`) ? true : undefined), 5_000);
  });

  test('appends the client address to X-Forwarded-For, keeps the Host header, and proves itself whatever proof the client forged', async () => {
    // WHEN a client sends a request that already carries a forwarded-for hop (and a guessed balancer proof)
    await get(port, '/who', { 'X-Forwarded-For': '198.51.100.7', Host: 'media.example.test:8080', 'X-Livestack-Balancer': 'a-guess' });

    // THEN the replica sees that hop followed by the client's real address, and the player's host
    const seen = replicas.flatMap((r) => r.seen).find((s) => s.path === '/who')!;
    expect(seen.forwardedFor).toBe('198.51.100.7, 127.0.0.1');
    expect(seen.host).toBe('media.example.test:8080');
    // AND the balancer's proof, which replicas require before they believe X-Forwarded-For
    expect(seen.proof).toBe('test-proof-token');
  });

  test('streams request and response bodies', async () => {
    // WHEN a 4 MiB body is posted and a slow 512 KiB response is read
    const body = Buffer.alloc(4 * 1024 * 1024, 7);
    const digest = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      });
      req.on('error', reject);
      req.end(body);
    });
    const streamed = await get(port, '/stream');

    // THEN both arrive whole
    expect(digest).toBe(createHash('sha256').update(body).digest('hex'));
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

describe('parseAccessLogLine', () => {
  test('reads a request that failed over: every attempt but the last failed', () => {
    const line = '200 61422 0.004 "10.0.0.3:4100, 10.0.0.4:4100" "502, 200"';
    expect(parseAccessLogLine(line)).toEqual({
      status: 200, bytes: 61422, seconds: 0.004,
      attempts: [{ address: '10.0.0.3:4100', result: 'failed' }, { address: '10.0.0.4:4100', result: 'response' }],
    });
  });

  test('reads a request no replica could take, and one nginx answered itself', () => {
    expect(parseAccessLogLine('502 157 1.001 "10.0.0.3:4100" "504"')!.attempts).toEqual([{ address: '10.0.0.3:4100', result: 'failed' }]);
    expect(parseAccessLogLine('400 150 0.000 "-" "-"')!.attempts).toEqual([]);
  });

  test('refuses what is not an access log line', () => {
    expect(parseAccessLogLine('something else')).toBeUndefined();
  });
});

describe('AccessLogMetrics', () => {
  test('counts complete lines as they are written, across a rotation', async () => {
    // GIVEN a log file read into a metrics registry, rotated beyond 200 bytes
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-access-log-'));
    const file = path.join(dir, 'access.log');
    const metrics = new HttpMetrics<'proxy' | 'health' | 'metrics'>('livestack_balancer', { workload: 't' });
    let reopened = 0;
    const log = new AccessLogMetrics(metrics, file, (address) => `replica@${address}`, () => { reopened += 1; }, 200);
    const line = '200 100 0.001 "10.0.0.3:4100" "200"\n';
    const count = async () => Number(/livestack_balancer_requests_total\{kind="proxy",code="200",workload="t"\} (\d+)/.exec(await metrics.registry.metrics())?.[1] ?? 0);

    // WHEN lines arrive in pieces (a line cut in two by a buffered write), then past the rotation size
    fs.writeFileSync(file, line + line.slice(0, 10));
    log.poll();
    expect(await count()).toBe(1);
    fs.appendFileSync(file, line.slice(10) + line.repeat(6));
    log.poll();
    expect(await count()).toBe(8);
    // nginx writes to the renamed file until it reopens its log
    fs.appendFileSync(`${file}.1`, line);
    fs.writeFileSync(file, line);
    log.poll();

    // THEN every line was counted once, the log was rotated and nginx told to reopen it
    expect(reopened).toBe(1);
    expect(await count()).toBe(10);
    expect(fs.existsSync(`${file}.1`)).toBe(false);
    expect(await metrics.registry.metrics()).toContain('livestack_balancer_upstream_attempts_total{upstream="replica@10.0.0.3:4100",result="response",workload="t"} 10');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
