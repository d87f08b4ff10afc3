/**
 * The balancer's request metrics, from nginx's access log (see ACCESS_LOG_FORMAT): nginx writes it
 * buffered (a write per 64 KiB or per second), the control process reads what is new twice a second.
 * Each line becomes a request (status, bytes, latency) and one attempt per replica nginx tried, with
 * that attempt's result. Per-request logging over syslog cost as much CPU as the proxying itself.
 */
import * as fs from 'node:fs';
import { Counter } from 'prom-client';
import { HttpMetrics } from '../common/http-metrics';

/** `<status> <bytes> <seconds> "<addr>, <addr>" "<status>, <status>"`. */
const LINE = /(\d{3}) (\d+) ([\d.]+) "([^"]*)" "([^"]*)"$/;
const FAILED = new Set(['502', '504', '-']);

export interface ParsedRequest {
  readonly status: number;
  readonly bytes: number;
  readonly seconds: number;
  /** Each replica nginx tried, in order, with the status it answered (or `failed`). */
  readonly attempts: { address: string; result: string }[];
}

/** One access log line; undefined when it is not one. */
export function parseAccessLogLine(line: string): ParsedRequest | undefined {
  const match = LINE.exec(line.trimEnd());
  if (!match) return undefined;
  const addresses = match[4] === '-' || match[4] === '' ? [] : match[4].split(/, | : /);
  const statuses = match[5].split(/, | : /);
  return {
    status: Number(match[1]),
    bytes: Number(match[2]),
    seconds: Number(match[3]),
    // Every attempt but the last failed (nginx moved on); nginx logs 502/504 (or `-`) for one whose
    // connection failed or timed out, statuses an origin replica never answers itself.
    attempts: addresses.map((address, i) => ({ address, result: i < addresses.length - 1 || FAILED.has(statuses[i]) ? 'failed' : 'response' })),
  };
}

/** The log is read in batches: one read every interval, not one wake-up per request. */
const POLL_MS = 500;
/** Beyond this size the log is rotated (renamed, nginx told to reopen it), so it never fills the disk. */
const ROTATE_BYTES = 8 * 1024 * 1024;

export class AccessLogMetrics {
  private readonly countAttempt: (upstream: string, result: string) => void;
  private timer?: NodeJS.Timeout;
  private offset = 0;
  private partial = '';
  private rotated = false;

  /**
   * @param file the access log nginx writes (buffered)
   * @param labelOf the replica label of an address nginx logged (its workload name and port)
   * @param reopen tells nginx to reopen its log files (after the log was renamed)
   */
  constructor(
    private readonly metrics: HttpMetrics<'proxy' | 'health' | 'metrics'>,
    private readonly file: string,
    private readonly labelOf: (address: string) => string,
    private readonly reopen: () => void,
    private readonly rotateBytes = ROTATE_BYTES,
  ) {
    const attempts = new Counter({
      name: `${metrics.prefix}_upstream_attempts_total`,
      help: 'Requests nginx sent to each origin replica, by result (response; failed: tried on the next replica or answered 502)',
      labelNames: ['upstream', 'result'],
      registers: [metrics.registry],
    });
    this.countAttempt = (upstream, result) => attempts.labels(upstream, result).inc();
  }

  start(): void {
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  /** Read what is left (nginx has flushed its buffer once stopped) and stop. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.poll();
  }

  /** Count every complete line written since the last poll. */
  poll(): void {
    if (this.rotated) {
      // nginx has had a poll interval to reopen: finish the renamed log, then start on the new one.
      this.readFrom(`${this.file}.1`);
      fs.rmSync(`${this.file}.1`, { force: true });
      this.rotated = false;
      this.offset = 0;
      this.partial = '';
    }
    this.readFrom(this.file);
    if (this.offset > this.rotateBytes) {
      fs.renameSync(this.file, `${this.file}.1`);
      this.reopen();
      this.rotated = true;
    }
  }

  private readFrom(file: string): void {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) this.offset = 0;
      if (size === this.offset) return;
      const buffer = Buffer.alloc(size - this.offset);
      fs.readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset = size;
      const lines = (this.partial + buffer.toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.record(line);
    } finally {
      fs.closeSync(fd);
    }
  }

  private record(line: string): void {
    const request = parseAccessLogLine(line);
    if (!request) return;
    this.metrics.request('proxy', request.status, request.bytes, request.seconds);
    for (const attempt of request.attempts) this.countAttempt(this.labelOf(attempt.address), attempt.result);
  }
}
