/**
 * The balancer's HTTP server: every request but /healthz and /metrics is streamed to one origin
 * replica, round robin. A request without a body whose connection fails before any response byte
 * arrived is tried again on the next replica (passive failover), so a dead replica costs players no
 * failed request; a request with a body cannot be replayed and gets a 502.
 */
import * as http from 'node:http';
import { Gauge } from 'prom-client';
import { HttpService, sendText } from '../origin/http-kit';
import { HttpMetrics } from '../origin/http-metrics';
import { Logger } from '../origin/log';
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers';
import { Upstream, UpstreamPool } from './upstream-pool';

type RequestKind = 'proxy' | 'health' | 'metrics';

/** A replica that does not accept a new connection within this long is skipped for the next one. */
const CONNECT_TIMEOUT_MS = 1_000;

export interface ProxyServerOptions {
  readonly pool: UpstreamPool;
  readonly workloadName: string;
  readonly log: Logger;
}

export class ProxyServer extends HttpService {
  readonly metrics: HttpMetrics<RequestKind>;
  private readonly pool: UpstreamPool;
  private readonly countUpstream: (upstream: string, result: string) => void;

  constructor(private readonly options: ProxyServerOptions) {
    super();
    this.pool = options.pool;
    this.metrics = new HttpMetrics<RequestKind>('livestack_balancer', { workload: options.workloadName });
    this.countUpstream = this.metrics.labeledCounter(
      'upstream_attempts_total',
      'Requests sent to each replica, by result (response, failed: tried on the next replica or answered 502)',
      ['upstream', 'result'],
    );
    const pool = this.pool;
    new Gauge({
      name: 'livestack_balancer_upstream_up',
      help: 'Whether each replica answered its latest health probe (1) or not (0)',
      labelNames: ['upstream'],
      registers: [this.metrics.registry],
      collect() {
        for (const upstream of pool.upstreams) this.set({ upstream: upstream.label }, upstream.state === 'up' ? 1 : 0);
      },
    });
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    const path = req.url ?? '/';
    if (path === '/healthz') {
      const up = this.pool.anyUp;
      const status = up ? 200 : 503;
      const bytes = sendText(res, status, up ? 'ok\n' : `no origin replica is healthy (${this.describeUpstreams()})\n`);
      return this.metrics.request('health', status, bytes, (performance.now() - started) / 1000);
    }
    if (path === '/metrics') {
      void this.metrics.registry.metrics().then((text) => {
        const body = Buffer.from(text);
        res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
        res.end(body);
        this.metrics.request('metrics', 200, body.length, (performance.now() - started) / 1000);
      });
      return;
    }
    this.forward(req, res, started, []);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, started: number, tried: Upstream[]): void {
    const upstream = this.pool.next(tried);
    if (!upstream) {
      const bytes = sendText(res, 502, 'no origin replica answered\n');
      this.metrics.request('proxy', 502, bytes, (performance.now() - started) / 1000);
      return;
    }
    const headers = upstreamRequestHeaders(req, req.socket.remoteAddress);
    const outgoing = http.request({
      host: upstream.host,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent: upstream.agent,
    });
    let answered = false;
    let connectTimer: NodeJS.Timeout | undefined;
    outgoing.on('socket', (socket) => {
      // Only a new connection has a connect phase; a pooled one is already connected.
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => outgoing.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    outgoing.on('response', (incoming) => {
      answered = true;
      clearTimeout(connectTimer);
      this.countUpstream(upstream.label, 'response');
      const status = incoming.statusCode ?? 502;
      res.writeHead(status, incoming.statusMessage, clientResponseHeaders(incoming));
      let bytes = 0;
      incoming.on('data', (chunk: Buffer) => { bytes += chunk.length; });
      incoming.pipe(res);
      // The replica went away mid-body: the client must see a truncated response, not a complete one.
      incoming.on('error', () => res.destroy());
      res.on('finish', () => this.metrics.request('proxy', status, bytes, (performance.now() - started) / 1000));
    });
    outgoing.on('error', (error) => {
      clearTimeout(connectTimer);
      if (answered || res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      this.countUpstream(upstream.label, 'failed');
      this.pool.failed(upstream, error.message);
      if (replayable(req)) {
        tried.push(upstream);
        this.forward(req, res, started, tried);
        return;
      }
      this.options.log.error(`request ${req.method} to ${upstream.label} failed (${error.message}); it has a body and cannot be tried on another replica`);
      const bytes = sendText(res, 502, 'the origin replica failed\n');
      this.metrics.request('proxy', 502, bytes, (performance.now() - started) / 1000);
    });
    // A player that goes away must not keep a replica streaming to nobody.
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    if (replayable(req)) outgoing.end();
    else req.pipe(outgoing);
  }

  private describeUpstreams(): string {
    return this.pool.upstreams.map((u) => `${u.label} ${u.state}${u.lastError ? `: ${u.lastError}` : ''}`).join('; ');
  }
}

/** A request without a body can be sent again to another replica. */
function replayable(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}
