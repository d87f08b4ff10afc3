/**
 * CORS for browser players: the endpoint's (or account's) allowed origins. `*` allows any origin.
 * Only simple GETs and preflights are answered; no credentials are ever allowed (players send tokens
 * in `Authorization` or the query, not cookies).
 */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: Set<string>;

  /**
   * @param allowedOrigins e.g. `https://player.example.com`; `*` for any
   * @param allowHeaders request headers a preflight may ask for
   */
  constructor(allowedOrigins: readonly string[], private readonly allowHeaders = 'Authorization, Range') {
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
      'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
      'Access-Control-Allow-Headers': this.allowHeaders,
      'Access-Control-Max-Age': '600',
    };
  }
}
