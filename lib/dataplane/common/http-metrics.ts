/**
 * Prometheus metrics of a data-plane HTTP server (own registry, served at /metrics): requests by kind
 * and status, body bytes, latency, plus any counters the workload adds to `registry`. Label children
 * are resolved once (`memo`), because the hot path records every request.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export class HttpMetrics<Kind extends string> {
  readonly registry = new Registry();
  private readonly requests: Counter<'kind' | 'code'>;
  private readonly bytes: Counter<'kind'>;
  private readonly latency: Histogram<'kind'>;
  private readonly counters = new Map<string, { inc(n?: number): void }>();
  private readonly histograms = new Map<string, { observe(v: number): void }>();

  /** @param prefix metric name prefix, e.g. `livestack_origin` */
  constructor(readonly prefix: string, labels: Record<string, string>) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: `${prefix}_` });
    this.requests = new Counter({ name: `${prefix}_requests_total`, help: 'HTTP requests answered, by kind and status code', labelNames: ['kind', 'code'], registers: [this.registry] });
    this.bytes = new Counter({ name: `${prefix}_response_bytes_total`, help: 'Body bytes sent, by kind', labelNames: ['kind'], registers: [this.registry] });
    this.latency = new Histogram({
      name: `${prefix}_request_duration_seconds`,
      help: 'Time from request to response end, by kind',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
  }

  request(kind: Kind, code: number, bytes: number, seconds: number): void {
    memo(this.counters, `r:${kind}:${code}`, () => this.requests.labels(kind, String(code))).inc();
    if (bytes > 0) memo(this.counters, `b:${kind}`, () => this.bytes.labels(kind)).inc(bytes);
    memo(this.histograms, kind, () => this.latency.labels(kind)).observe(seconds);
  }

  /** `request` with the labels resolved once, for a hot path that always answers the same way. */
  recorder(kind: Kind, code: number): (bytes: number, seconds: number) => void {
    const requests = this.requests.labels(kind, String(code));
    const bytes = this.bytes.labels(kind);
    const latency = this.latency.labels(kind);
    return (n, seconds) => {
      requests.inc();
      if (n > 0) bytes.inc(n);
      latency.observe(seconds);
    };
  }

  /** A counter in this registry whose label children are memoised: `count(a, b)` increments one. */
  labeledCounter<L extends string>(name: string, help: string, labelNames: L[]): (...values: string[]) => void {
    const family = this.counterFamily(name, help, labelNames);
    return (...values: string[]) => family.inc(...values);
  }

  /** Like `labeledCounter`, and children can also be bound once for a hot path. */
  counterFamily<L extends string>(name: string, help: string, labelNames: L[]): LabeledCounter {
    const counter = new Counter({ name: `${this.prefix}_${name}`, help, labelNames, registers: [this.registry] });
    const children = new Map<string, { inc(): void }>();
    const child = (values: string[]) => memo(children, values.join('\u0000'), () => counter.labels(...values));
    return {
      inc: (...values) => child(values).inc(),
      bound: (...values) => {
        const resolved = child(values);
        return () => resolved.inc();
      },
    };
  }
}

export interface LabeledCounter {
  /** Increments the child with these label values. */
  inc(...values: string[]): void;
  /** An increment of one child, its labels resolved now. */
  bound(...values: string[]): () => void;
}

function memo<T>(map: Map<string, T>, key: string, make: () => T): T {
  let found = map.get(key);
  if (found === undefined) {
    found = make();
    map.set(key, found);
  }
  return found;
}
