/**
 * The few node:http chores the data-plane servers share: listening (rejecting on EADDRINUSE and the
 * like), closing with idle keep-alive connections dropped, and sending a complete body.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** A plain node:http server around one request handler, with keep-alive sized for players. */
export abstract class HttpService {
  private readonly server: http.Server;

  constructor() {
    this.server = http.createServer({ noDelay: true }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): void;

  listen(host: string, port: number): Promise<AddressInfo> {
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** Sends `body` with a Content-Length; returns the body size (for the bytes metric). */
export function send(res: http.ServerResponse, status: number, body: Buffer, headers: http.OutgoingHttpHeaders): number {
  res.writeHead(status, { ...headers, 'Content-Length': body.length });
  res.end(body);
  return body.length;
}

/** A short plain-text answer (errors, health), never cached. */
export function sendText(res: http.ServerResponse, status: number, body: string, extra?: Record<string, string>): number {
  return send(res, status, Buffer.from(body), { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
}
