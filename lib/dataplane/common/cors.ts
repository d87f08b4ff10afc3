/**
 * CORS for browser players: the endpoint's (or account's) allowed origins. `*` allows any origin.
 * Simple GETs, the methods a service allows (the key service's license POSTs) and preflights are
 * answered; no credentials are ever allowed (players send tokens in `Authorization` or the query,
 * not cookies).
 */
import * as http from 'node:http';
import { sendText } from './http-kit';

export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: Set<string>;

  /**
   * @param allowedOrigins e.g. `https://player.example.com`; `*` for any
   * @param allowHeaders request headers a preflight may ask for
   * @param allowMethods methods a preflight may ask for
   */
  constructor(allowedOrigins: readonly string[], private readonly allowHeaders = 'Authorization, Range', private readonly allowMethods = 'GET, HEAD, OPTIONS') {
    this.any = allowedOrigins.includes('*');
    this.origins = new Set(allowedOrigins.map((o) => o.replace(/\/+$/, '')));
  }

  /** Headers to add to an actual response, or undefined when the request is not cross-origin or not allowed. */
  responseHeaders(origin: string | undefined): Record<string, string> | undefined {
    if (!origin) return undefined;
    if (this.any) return { 'Access-Control-Allow-Origin': '*' };
    if (!this.origins.has(origin)) return undefined;
    return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
  }

  /** Headers of a preflight (OPTIONS) answer, or undefined when the origin is not allowed. */
  preflightHeaders(origin: string | undefined): Record<string, string> | undefined {
    const base = this.responseHeaders(origin);
    if (!base) return undefined;
    return {
      ...base,
      'Access-Control-Allow-Methods': this.allowMethods,
      'Access-Control-Allow-Headers': this.allowHeaders,
      'Access-Control-Max-Age': '600',
    };
  }

  /**
   * Answers a preflight (OPTIONS): 204 with the preflight headers, or 403 saying `refusal` when the
   * origin is not allowed. Returns the status and body bytes, for metrics.
   */
  answerPreflight(res: http.ServerResponse, origin: string | undefined, refusal: string): [number, number] {
    const preflight = this.preflightHeaders(origin);
    if (!preflight) return [403, sendText(res, 403, `${refusal}\n`)];
    res.writeHead(204, preflight).end();
    return [204, 0];
  }
}
