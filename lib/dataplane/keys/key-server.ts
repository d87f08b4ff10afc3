/**
 * The key service's HTTP server: `GET /keys/<keyId>` answers the content key's 16 raw bytes (HLS
 * AES-128) and `POST /clearkey` answers a W3C ClearKey license request with the keys it names, when
 * the request satisfies each key's policy, else 401/403 with a short reason (never key bytes, never
 * the token). Also the account's key-delivery IP allow list, CORS for browser players (preflights
 * asking for `Authorization` and `Content-Type`), /healthz and /metrics.
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { contentKeyId } from '../../contract/content-keys';
import { locatorId, locatorIdKeyPath } from '../../contract/locator-ids';
import { KeyServiceConfig } from '../../contract/workload-config';
import { readOrCreateSecret } from '../secrets';
import { CorsPolicy } from '../common/cors';
import { HttpService, send, sendText as text } from '../common/http-kit';
import { HttpMetrics } from '../common/http-metrics';
import { IpAllowList } from '../common/ip-allow-list';
import { Logger } from '../common/log';
import { CLEARKEY_MAX_REQUEST_BYTES, CLEARKEY_PATH, licenseResponse, LicenseRequestError, parseLicenseRequest } from './clearkey';
import { readOrCreateContentKey } from './content-key-store';
import { Decision, KeyAuthorizer } from './key-authorizer';

type RequestKind = 'key' | 'license' | 'other';

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

export { CLEARKEY_PATH };

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
    // Key ids follow from locator ids, which follow from the account's locator id key (contract/locator-ids.ts).
    const idKey = readOrCreateSecret(locatorIdKeyPath(options.storageDir));
    for (const { locator, id, keyPolicy } of config.keys) {
      const keyId = contentKeyId(locatorId(idKey, { account: config.account, name: locator, id }));
      const authorizer = authorizers.get(keyPolicy);
      if (!authorizer) throw new Error(`key service config: the content key of locator ${locator} names key policy "${keyPolicy}", which the config does not define`);
      this.keys.set(keyId, { key: readOrCreateContentKey(options.storageDir, keyId), authorizer });
    }
    this.allowList = new IpAllowList(config.allowList);
    this.cors = new CorsPolicy(config.corsAllowedOrigins, 'Authorization, Content-Type', 'GET, HEAD, POST, OPTIONS');
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
    const kind: RequestKind = match ? 'key' : path === CLEARKEY_PATH ? 'license' : 'other';
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
    const query = q < 0 ? '' : url.slice(q + 1);
    if (kind === 'license') {
      if (req.method !== 'POST') return void done(405, text(res, 405, `method ${req.method} is not allowed: ClearKey license requests are POSTed\n`, { Allow: 'POST, OPTIONS', ...cors }));
      return void this.license(req, res, client, query, cors, done);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return void done(405, text(res, 405, `method ${req.method} is not allowed\n`, { Allow: 'GET, HEAD, OPTIONS', ...cors }));
    if (!match) return void done(404, text(res, 404, 'not found: content keys are at /keys/<key id>, ClearKey licenses at /clearkey\n', cors));
    const served = this.keys.get(match[1]);
    if (!served) return void done(404, text(res, 404, 'no such content key\n', cors));
    served.authorizer.authorize({ clientAddress: client, authorization: req.headers.authorization, query }).then(
      (decision) => {
        if (!this.decided(served.authorizer, match[1], client, decision)) return void done(...this.refuse(res, decision, cors));
        done(200, send(res, 200, served.key, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'private, no-store', ...cors }));
      },
      (error: Error) => {
        this.log?.error(`deciding on content key ${match[1]} failed: ${error.message}`);
        done(500, text(res, 500, 'key refused: internal error\n', cors));
      },
    );
  }

  /**
   * A ClearKey license: the requested keys this service holds, when every one of their key policies
   * grants the request (one refusal refuses the license, so a token cannot widen what it unlocks).
   * Key ids it does not hold are left out of the answer, as ClearKey allows; none at all is a 404.
   */
  private license(
    req: http.IncomingMessage, res: http.ServerResponse, client: string | undefined, query: string,
    cors: Record<string, string> | undefined, done: (status: number, bytes: number) => void,
  ): void {
    readBody(req, CLEARKEY_MAX_REQUEST_BYTES).then(async (body) => {
      if (body === undefined) return done(413, text(res, 413, `license request larger than ${CLEARKEY_MAX_REQUEST_BYTES} bytes\n`, cors));
      let keyIds: readonly string[];
      try {
        keyIds = parseLicenseRequest(body).keyIds;
      } catch (error) {
        if (!(error instanceof LicenseRequestError)) throw error;
        return done(400, text(res, 400, `bad license request: ${error.message}\n`, cors));
      }
      const held = keyIds.filter((keyId) => this.keys.has(keyId));
      if (held.length === 0) return done(404, text(res, 404, 'license refused: none of the requested key ids is served here\n', cors));
      const authorization = { clientAddress: client, authorization: req.headers.authorization, query };
      // One decision per key policy (a token is verified once however many of its keys are asked for).
      const decisions = new Map<KeyAuthorizer, Promise<Decision>>();
      for (const keyId of held) {
        const { authorizer } = this.keys.get(keyId) as ServedKey;
        if (!decisions.has(authorizer)) decisions.set(authorizer, authorizer.authorize(authorization));
      }
      const granted = new Map<string, Buffer>();
      for (const keyId of held) {
        const served = this.keys.get(keyId) as ServedKey;
        const decision = await (decisions.get(served.authorizer) as Promise<Decision>);
        if (!this.decided(served.authorizer, keyId, client, decision, 'license')) return done(...this.refuse(res, decision, cors, 'license'));
        granted.set(keyId, served.key);
      }
      done(200, send(res, 200, licenseResponse(granted), { 'Content-Type': 'application/json', 'Cache-Control': 'private, no-store', ...cors }));
    }).catch((error: Error) => {
      this.log?.error(`answering a ClearKey license request failed: ${error.message}`);
      if (!res.headersSent) done(500, text(res, 500, 'license refused: internal error\n', cors));
    });
  }

  /** Counts a decision on one key; logs a refusal (key id, policy, client, reason). Returns whether it granted. */
  private decided(authorizer: KeyAuthorizer, keyId: string, client: string | undefined, decision: Decision, what = 'content key'): boolean {
    const policy = authorizer.policy.name;
    this.countDecision(policy, decision.ok ? 'granted' : 'refused');
    if (!decision.ok) this.refusalLog(`refused ${what} ${keyId} (key policy ${policy}) to ${client ?? 'unknown address'}: ${decision.status ?? 401} ${decision.reason}`);
    return decision.ok;
  }

  /** The refusal answer: 401 with an RFC 6750 challenge (no error code when no token came at all), or 403. */
  private refuse(res: http.ServerResponse, decision: Decision, cors: Record<string, string> | undefined, what = 'key'): [number, number] {
    const status = decision.status ?? 401;
    const reason = decision.ok ? 'refused' : decision.reason;
    const challenge: Record<string, string> = status === 401
      ? { 'WWW-Authenticate': `Bearer realm="livestack"${decision.invalidToken ? ', error="invalid_token"' : ''}` }
      : {};
    return [status, text(res, status, `${what} refused: ${reason}\n`, { ...challenge, ...cors })];
  }
}

/** The request body, or undefined when it is longer than `limit` bytes (the rest is not read). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(length > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
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
