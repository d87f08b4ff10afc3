/**
 * The key service's HTTP server: `GET /keys/<keyId>` answers the content key's 16 raw bytes when the
 * request satisfies the key's policy, else 401/403 with a short reason (never key bytes, never the
 * token). Also the account's key-delivery IP allow list, CORS for browser players (preflights asking
 * for `Authorization`), /healthz and /metrics.
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { KeyServiceConfig } from '../../contract/workload-config';
import { CorsPolicy } from '../common/cors';
import { HttpService, send, sendText as text } from '../common/http-kit';
import { HttpMetrics } from '../common/http-metrics';
import { IpAllowList } from '../common/ip-allow-list';
import { Logger } from '../common/log';
import { readOrCreateContentKey } from './content-key-store';
import { KeyAuthorizer } from './key-authorizer';

type RequestKind = 'key' | 'other';

interface ServedKey {
  readonly key: Buffer;
  readonly authorizer: KeyAuthorizer;
}

export interface KeyServerOptions {
  readonly config: KeyServiceConfig;
  readonly storageDir: string;
  readonly workloadName: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Where refusals are reported (key id, policy, client, reason: never the token or key bytes). */
  readonly log?: Logger;
}

const KEY_PATH = /^\/keys\/([0-9a-f]{32})$/;
/** A flood of bad requests must not flood the log: at most this many refusal lines a second. */
const REFUSAL_LINES_PER_SECOND = 20;

export class KeyServer extends HttpService {
  readonly metrics: HttpMetrics<RequestKind>;
  private readonly countDecision: (policy: string, result: string) => void;
  private readonly keys = new Map<string, ServedKey>();
  private readonly allowList: IpAllowList;
  private readonly cors: CorsPolicy;
  private readonly refusalLog: (line: string) => void;
  private readonly log?: Logger;

  /** Creates (or reads) every content key the config lists, so keys exist before the first player asks. */
  constructor(options: KeyServerOptions) {
    super();
    const { config } = options;
    this.metrics = new HttpMetrics<RequestKind>('livestack_keys', { workload: options.workloadName });
    this.countDecision = this.metrics.labeledCounter('decisions_total', 'Key requests decided, by key policy and result (granted or refused)', ['policy', 'result']);
    const authorizers = new Map(config.policies.map((p) => [p.name, new KeyAuthorizer(p, options.storageDir, options.env)]));
    for (const { keyId, keyPolicy } of config.keys) {
      const authorizer = authorizers.get(keyPolicy);
      if (!authorizer) throw new Error(`key service config: content key ${keyId} names key policy "${keyPolicy}", which the config does not define`);
      this.keys.set(keyId, { key: readOrCreateContentKey(options.storageDir, keyId), authorizer });
    }
    this.allowList = new IpAllowList(config.allowList);
    this.cors = new CorsPolicy(config.corsAllowedOrigins, 'Authorization');
    this.log = options.log;
    this.refusalLog = rateLimited(options.log, REFUSAL_LINES_PER_SECOND);
  }

  get keyCount(): number {
    return this.keys.size;
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const match = KEY_PATH.exec(path);
    const kind: RequestKind = match ? 'key' : 'other';
    const done = (status: number, bytes: number) => this.metrics.request(kind, status, bytes, (performance.now() - started) / 1000);

    if (path === '/healthz') return void done(200, text(res, 200, 'ok\n'));
    if (path === '/metrics') {
      return void this.metrics.registry.metrics().then((body) => done(200, send(res, 200, Buffer.from(body), { 'Content-Type': this.metrics.registry.contentType })));
    }
    const client = req.socket.remoteAddress;
    if (!this.allowList.allows(client)) return void done(403, text(res, 403, 'your address is not in this account\'s key delivery allow list\n'));
    const origin = req.headers.origin;
    if (req.method === 'OPTIONS') return void done(...this.cors.answerPreflight(res, origin, 'origin not allowed by CORS'));
    const cors = this.cors.responseHeaders(origin);
    if (req.method !== 'GET' && req.method !== 'HEAD') return void done(405, text(res, 405, `method ${req.method} is not allowed\n`, { Allow: 'GET, HEAD, OPTIONS', ...cors }));
    if (!match) return void done(404, text(res, 404, 'not found: content keys are at /keys/<key id>\n', cors));
    const served = this.keys.get(match[1]);
    if (!served) return void done(404, text(res, 404, 'no such content key\n', cors));
    served.authorizer.authorize({ clientAddress: client, authorization: req.headers.authorization, query: q < 0 ? '' : url.slice(q + 1) }).then(
      (decision) => {
        const policy = served.authorizer.policy.name;
        if (decision.ok) {
          this.countDecision(policy, 'granted');
          return done(200, send(res, 200, served.key, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'private, no-store', ...cors }));
        }
        this.countDecision(policy, 'refused');
        const status = decision.status ?? 401;
        this.refusalLog(`refused content key ${match[1]} (key policy ${policy}) to ${client ?? 'unknown address'}: ${status} ${decision.reason}`);
        // RFC 6750: no error code when no token came at all.
        const challenge: Record<string, string> = status === 401
          ? { 'WWW-Authenticate': `Bearer realm="livestack"${decision.invalidToken ? ', error="invalid_token"' : ''}` }
          : {};
        done(status, text(res, status, `key refused: ${decision.reason}\n`, { ...challenge, ...cors }));
      },
      (error: Error) => {
        this.log?.error(`deciding on content key ${match[1]} failed: ${error.message}`);
        done(500, text(res, 500, 'key refused: internal error\n', cors));
      },
    );
  }
}

/** Lines beyond `perSecond` in one second are counted, and their number reported with the next line. */
function rateLimited(log: Logger | undefined, perSecond: number): (line: string) => void {
  let second = 0;
  let written = 0;
  let suppressed = 0;
  return (line) => {
    if (!log) return;
    const now = Math.floor(Date.now() / 1000);
    if (now !== second) {
      second = now;
      written = 0;
    }
    if (written >= perSecond) {
      suppressed++;
      return;
    }
    written++;
    log.info(suppressed > 0 ? `${line} (${suppressed} similar line(s) suppressed before this one)` : line);
    suppressed = 0;
  };
}
