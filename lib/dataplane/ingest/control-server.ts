/**
 * The ingest workload's loopback HTTP server: nginx-rtmp's callbacks (publish, publish done, play),
 * `/healthz` (the runtime's health check) and Prometheus `/metrics`. It listens on 127.0.0.1 only:
 * nothing outside the workload reaches it.
 */
import * as http from 'node:http';
import { HttpService, send, sendText } from '../common/http-kit';
import { HttpMetrics } from '../common/http-metrics';
import { CALLBACK_PATHS } from './nginx-config';
import { GateVerdict, INTERNAL_STREAM_NAME, parseCallbackBody, RtmpCall } from './publish-gate';

/** nginx-rtmp's callbacks are a few hundred bytes (names are at most 255, arguments 511). */
const MAX_BODY_BYTES = 16 * 1024;

export type ControlRequestKind = 'publish' | 'publish-done' | 'play' | 'healthz' | 'metrics' | 'other';

export interface ControlHandlers {
  publish(call: RtmpCall): GateVerdict;
  publishDone(call: RtmpCall): void;
  play(call: RtmpCall): GateVerdict;
  /** Health document and whether the workload is healthy. */
  health(): { readonly healthy: boolean; readonly body: unknown };
}

export class ControlServer extends HttpService {
  constructor(private readonly handlers: ControlHandlers, private readonly metrics: HttpMetrics<ControlRequestKind>) {
    super();
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = process.hrtime.bigint();
    const url = (req.url ?? '/').split('?')[0];
    const kind = kindOf(url);
    const done = (status: number, bytes: number) => {
      this.metrics.request(kind, status, bytes, Number(process.hrtime.bigint() - started) / 1e9);
    };
    void this.route(kind, req, res).then(
      ({ status, bytes }) => done(status, bytes),
      (error: Error) => {
        if (!res.headersSent) done(500, sendText(res, 500, `internal error: ${error.message}\n`));
        else res.destroy();
      },
    );
  }

  private async route(kind: ControlRequestKind, req: http.IncomingMessage, res: http.ServerResponse): Promise<{ status: number; bytes: number }> {
    switch (kind) {
      case 'healthz': {
        const { healthy, body } = this.handlers.health();
        const status = healthy ? 200 : 503;
        return { status, bytes: send(res, status, Buffer.from(`${JSON.stringify(body)}\n`), { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }) };
      }
      case 'metrics': {
        const body = Buffer.from(await this.metrics.registry.metrics());
        return { status: 200, bytes: send(res, 200, body, { 'Content-Type': this.metrics.registry.contentType, 'Cache-Control': 'no-store' }) };
      }
      case 'publish':
      case 'play': {
        const call = await this.callOf(req, res);
        if (!call) return { status: 400, bytes: 0 };
        const verdict = kind === 'publish' ? this.handlers.publish(call) : this.handlers.play(call);
        if (!verdict.accepted) return { status: 403, bytes: sendText(res, 403, `refused: ${verdict.reason}\n`) };
        if (kind === 'play') return { status: 200, bytes: sendText(res, 200, 'ok\n') };
        // A 3xx with a plain name makes nginx-rtmp rename the stream: the key goes no further.
        res.writeHead(302, { Location: INTERNAL_STREAM_NAME, 'Content-Length': 0 });
        res.end();
        return { status: 302, bytes: 0 };
      }
      case 'publish-done': {
        const call = await this.callOf(req, res);
        if (!call) return { status: 400, bytes: 0 };
        this.handlers.publishDone(call);
        return { status: 200, bytes: sendText(res, 200, 'ok\n') };
      }
      default:
        return { status: 404, bytes: sendText(res, 404, 'not found\n') };
    }
  }

  /** The callback's fields, or undefined after answering a malformed request. */
  private async callOf(req: http.IncomingMessage, res: http.ServerResponse): Promise<RtmpCall | undefined> {
    if (req.method !== 'POST') {
      sendText(res, 405, 'POST expected\n', { Allow: 'POST' });
      return undefined;
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    const call = body === undefined ? undefined : parseCallbackBody(body);
    if (!call) sendText(res, 400, body === undefined ? 'body too large\n' : 'malformed form body\n');
    return call;
  }
}

function kindOf(url: string): ControlRequestKind {
  switch (url) {
    case CALLBACK_PATHS.publish: return 'publish';
    case CALLBACK_PATHS.publishDone: return 'publish-done';
    case CALLBACK_PATHS.play: return 'play';
    case '/healthz': return 'healthz';
    case '/metrics': return 'metrics';
    default: return 'other';
  }
}

/** The request body as text, or undefined when it exceeds `limit` bytes. */
function readBody(req: http.IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('latin1')));
    req.on('error', reject);
  });
}
