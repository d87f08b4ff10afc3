/**
 * The balancer's control server, on loopback behind nginx: /healthz answers 200 while at least one
 * origin replica is healthy (503 with each replica's state otherwise), /metrics serves Prometheus
 * metrics: requests, bytes and latency from nginx's access log, attempts and health per replica.
 */
import * as http from 'node:http';
import { Gauge } from 'prom-client';
import { HttpService, send, sendText } from '../common/http-kit';
import { HttpMetrics } from '../common/http-metrics';
import { ReplicaSet } from './replica-set';

export type BalancerRequestKind = 'proxy' | 'health' | 'metrics';

export class ControlServer extends HttpService {
  readonly metrics: HttpMetrics<BalancerRequestKind>;

  constructor(private readonly replicas: ReplicaSet, workloadName: string) {
    super();
    this.metrics = new HttpMetrics<BalancerRequestKind>('livestack_balancer', { workload: workloadName });
    new Gauge({
      name: 'livestack_balancer_upstream_up',
      help: 'Whether each origin replica answered its latest health probe (1) or not (0)',
      labelNames: ['upstream'],
      registers: [this.metrics.registry],
      collect() {
        for (const replica of replicas.replicas) this.set({ upstream: replica.label }, replica.state === 'up' ? 1 : 0);
      },
    });
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    if (req.url === '/healthz') {
      const up = this.replicas.anyUp;
      const status = up ? 200 : 503;
      const states = this.replicas.replicas.map((r) => `${r.label} ${r.state}${r.lastError ? ` (${r.lastError})` : ''}`).join('; ');
      const bytes = sendText(res, status, up ? 'ok\n' : `no origin replica is healthy: ${states}\n`);
      return this.metrics.request('health', status, bytes, elapsed());
    }
    if (req.url === '/metrics') {
      void this.metrics.registry.metrics().then((text) => {
        const bytes = send(res, 200, Buffer.from(text), { 'Content-Type': this.metrics.registry.contentType, 'Cache-Control': 'no-store' });
        this.metrics.request('metrics', 200, bytes, elapsed());
      });
      return;
    }
    sendText(res, 404, 'not found\n');
  }
}
