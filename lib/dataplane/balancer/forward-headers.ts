/**
 * Header rules of a reverse proxy (RFC 9110 §7.6.1): hop-by-hop headers stay on their hop, and the
 * client's address is appended to X-Forwarded-For so the replicas can apply the endpoint's allow list.
 * The Host header passes unchanged: replicas build absolute URLs (key URIs) from the host players used.
 */
import type * as http from 'node:http';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** Headers without the hop-by-hop ones, including those the Connection header names. */
function endToEnd(headers: http.IncomingHttpHeaders | http.OutgoingHttpHeaders): Record<string, string | string[] | number> {
  const named = headers.connection;
  const extra = typeof named === 'string' && named !== '' ? named.toLowerCase().split(',').map((h) => h.trim()) : [];
  const kept: Record<string, string | string[] | number> = {};
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined || HOP_BY_HOP.has(key) || (extra.length > 0 && extra.includes(key))) continue;
    kept[key] = value;
  }
  return kept;
}

/** The headers to send a replica for a client request coming from `clientAddress`. */
export function upstreamRequestHeaders(req: http.IncomingMessage, clientAddress: string | undefined): Record<string, string | string[] | number> {
  const headers = endToEnd(req.headers);
  const previous = req.headers['x-forwarded-for'];
  const hop = clientAddress ?? 'unknown';
  headers['x-forwarded-for'] = typeof previous === 'string' && previous !== '' ? `${previous}, ${hop}` : hop;
  return headers;
}

/** The headers to send the client for a replica's response. */
export function clientResponseHeaders(res: http.IncomingMessage): Record<string, string | string[] | number> {
  return endToEnd(res.headers);
}
