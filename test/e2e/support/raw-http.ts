/**
 * HTTP requests sent exactly as written: the request target is not normalised (`..`, `%2e%2e` and
 * absolute forms reach the server as given) and the client can bind another loopback address, to
 * test allow lists from "outside".
 */
import * as http from 'node:http';

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RawRequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Source address of the connection, e.g. `127.0.0.3`. */
  readonly localAddress?: string;
  /** @default 10_000 */
  readonly timeoutMs?: number;
  /** Request body (e.g. a license request), sent with its Content-Length. */
  readonly body?: string | Buffer;
}

/** One request to 127.0.0.1:`port` with `target` as the request target, verbatim. */
export function rawRequest(port: number, target: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: target,
      method: options.method ?? 'GET',
      headers: options.body === undefined ? options.headers : { ...options.headers, 'Content-Length': String(Buffer.byteLength(options.body)) },
      localAddress: options.localAddress,
      agent: false,
      timeout: options.timeoutMs ?? 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${target}: no answer within ${options.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
