/**
 * The origin's HTTP server (plain node:http: the hot path is a Map lookup and a write of a cached
 * buffer). Routes:
 *
 * ```
 * /healthz, /metrics
 * /<locator-id>/<manifest>.m3u8          HLS master          /<locator-id>/<manifest>.mpd   DASH
 * /<locator-id>/<rendition>/index.m3u8   HLS media playlist  /<locator-id>/<rendition>/<file>  segment
 * /<locator-id>/<rendition>/<run>/<n>.m4s DASH segment (number n of the stored playlist, see dash-render.ts)
 * /preview/<channel>                     preview page (preview allow list), its HLS below it
 * ```
 *
 * Every request passes the endpoint's IP allow list; locator requests also their publication window
 * and delivery policy. Envelope-encrypted media playlists point EXT-X-KEY at the key service and carry
 * a player's `token` query parameter on to the key URI, for players that cannot set headers.
 *
 * A low-latency recording's media playlists are LL-HLS (ll-hls.ts): blocking reloads
 * (`?_HLS_msn=&_HLS_part=`) are held until the part is written, and its parts
 * (`<rendition>/<segment>.part<i>.m4s`) are served from the segment file while it is being written.
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { OriginConfig, OriginLiveConfig } from '../../contract/workload-config';
import { locatorIdKeyPath } from '../../contract/locator-ids';
import { balancerTokenPath } from '../../contract/forwarding';
import { Forwarding } from '../common/forwarding-trust';
import { readOrCreateSecret } from '../secrets';
import { AssetStore, NotFoundError } from './asset-store';
import { CorsPolicy } from '../common/cors';
import { IpAllowList } from '../common/ip-allow-list';
import { LocatorEntry, locatorTable, windowVerdict } from './locator-table';
import { Logger } from '../common/log';
import { HttpService, send, sendText } from '../common/http-kit';
import { HttpMetrics, LabeledCounter } from '../common/http-metrics';
import { HotSegment, HotSegments } from './hot-segments';
import { PackagingRefusal, PackagingTarget, Packager, PlaylistRequest, Rendered } from './packager';
import { SEND_TIME_SLOT } from './dash-render';
import { parsePartUri } from './ll-hls';
import { hlsJs, previewPage } from './preview-page';
import { answerRange, rangeStatus, sliceFor } from './byte-range';
import { splitRequestPath } from './request-path';
import { CLEARKEY_PATH } from '../keys/clearkey';

export interface OriginServerOptions {
  readonly config: OriginConfig;
  readonly storageDir: string;
  readonly workloadName: string;
  readonly log: Logger;
  /** Memory for segment bodies, clear and encrypted together. @default 256 MiB */
  readonly cacheBytes?: number;
}

type RequestKind = 'master' | 'media' | 'mpd' | 'segment' | 'preview' | 'other';

/** An answer other than 200, with a short reason for the body. */
class HttpRefusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const MEDIA_PLAYLIST = 'index.m3u8';
/** How long a segment answer is reused as is (see hot-segments.ts). */
const HOT_TTL_MS = 1000;
const HOT_MAX_ENTRIES = 20_000;
/** Share of the cache budget the fast path may hold on its own (its bodies are mostly the file caches'). */
const HOT_BYTES_SHARE = 1 / 8;
const PREVIEW = 'preview';
/** Entries (names and values) of the range headers of a whole answer: Accept-Ranges and Content-Length. */
const WHOLE_RANGE_HEADERS = rangeStatus({ kind: 'whole' }, 0).headers.length;
const JWT_CHARS = /^[A-Za-z0-9._~+/=-]{1,8192}$/;

export class OriginServer extends HttpService {
  readonly metrics: HttpMetrics<RequestKind>;
  private readonly cacheLookups: LabeledCounter;
  private readonly hot: HotSegments;
  private readonly hotRecord: { request: (bytes: number, seconds: number) => void; segmentHit: () => void; encryptedHit: () => void };
  private readonly store: AssetStore;
  private readonly packager: Packager;
  private readonly allowList: IpAllowList;
  private readonly cors: CorsPolicy;
  private previews = new Map<string, IpAllowList>();
  private readonly forwarding: Forwarding;
  private readonly segmentCacheControl: string;
  private readonly vodPlaylistMaxAge: number;
  private locators = new Map<string, LocatorEntry>();
  /** The account's locator id key (created here if this is the account's first workload to start). */
  private readonly locatorIdKey: string;

  constructor(private readonly options: OriginServerOptions) {
    super();
    const { config } = options;
    const cacheBytes = options.cacheBytes ?? 256 * 1024 * 1024;
    this.hot = new HotSegments({ ttlMs: HOT_TTL_MS, maxEntries: HOT_MAX_ENTRIES, maxBytes: Math.floor(cacheBytes * HOT_BYTES_SHARE) });
    this.metrics = new HttpMetrics<RequestKind>('livestack_origin', { workload: options.workloadName });
    this.cacheLookups = this.metrics.counterFamily('cache_requests_total', 'Cache lookups, by cache and result (hit or miss)', ['cache', 'result']);
    this.hotRecord = {
      request: this.metrics.recorder('segment', 200),
      segmentHit: this.cacheLookups.bound('segment', 'hit'),
      encryptedHit: this.cacheLookups.bound('encrypted', 'hit'),
    };
    this.store = new AssetStore(options.storageDir, { cacheBytes: cacheBytes / 2, metadataTtlMs: 500, revalidateMs: 5000 });
    this.packager = new Packager(
      this.store, options.storageDir,
      { encryptedCacheBytes: cacheBytes / 2, playlistTtlMs: 500, licenseUrl: `${config.keyDelivery.baseUrl}${CLEARKEY_PATH}` },
      (cache, hit) => this.cacheLookups.inc(cache, hit ? 'hit' : 'miss'),
    );
    this.locatorIdKey = readOrCreateSecret(locatorIdKeyPath(options.storageDir));
    this.allowList = new IpAllowList(config.endpoint.allowList);
    this.cors = new CorsPolicy(config.endpoint.corsAllowedOrigins);
    // Replicas behind the balancer see nginx's address; they believe its X-Forwarded-For only with its proof.
    const behindBalancer = config.listenPort !== config.endpoint.port;
    this.forwarding = new Forwarding({
      trustedProxies: config.endpoint.trustedProxies,
      balancerToken: behindBalancer ? readOrCreateSecret(balancerTokenPath(options.storageDir)) : undefined,
    });
    this.segmentCacheControl = `public, max-age=${config.endpoint.maxCacheAgeSeconds}, immutable`;
    this.vodPlaylistMaxAge = Math.min(60, config.endpoint.maxCacheAgeSeconds);
  }

  /** Applies a new live config (locators) in place; requests in flight finish with the old one. */
  setLiveConfig(live: OriginLiveConfig): void {
    this.locators = locatorTable(live, this.options.config.account, this.locatorIdKey);
    this.previews = new Map(live.previews.map((p) => [p.channel, new IpAllowList(p.allowList)]));
    this.hot.clear();
  }

  get locatorCount(): number {
    return this.locators.size;
  }

  override async close(): Promise<void> {
    this.packager.close();
    await super.close();
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    const url = req.url ?? '/';
    const hot = this.hot.get(url, Date.now());
    if (hot !== undefined && this.serveHot(req, res, hot, started)) return;
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    let kind: RequestKind = 'other';
    const done = (status: number, bytes: number) => this.metrics.request(kind, status, bytes, (performance.now() - started) / 1000);

    if (rawPath === '/healthz') return void done(200, sendText(res, 200, 'ok\n'));
    if (rawPath === '/metrics') return void this.serveMetrics(res).then((bytes) => done(200, bytes));
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS');
      return void done(405, sendText(res, 405, `method ${req.method} is not allowed\n`));
    }
    const client = this.clientAddress(req);
    if (!this.allowList.allows(client)) {
      return void done(403, sendText(res, 403, 'your address is not in this streaming endpoint\'s allow list\n'));
    }
    const origin = req.headers.origin;
    if (req.method === 'OPTIONS') return void done(...this.cors.answerPreflight(res, origin, 'origin not allowed by this streaming endpoint\'s CORS policy'));
    const cors = this.cors.responseHeaders(origin);
    const split = splitRequestPath(rawPath);
    if (!split.ok) return void done(400, sendText(res, 400, `path refused: ${split.reason}\n`, cors));
    const segments = split.segments;

    kind = requestKind(segments);
    let work: Promise<number>;
    try {
      if (kind === 'preview') {
        work = this.servePreview(res, segments, q < 0 ? '' : url.slice(q + 1), client, cors);
      } else {
        const entry = this.locators.get(segments[0] ?? '');
        if (!entry) throw new HttpRefusal(404, 'no such locator');
        const verdict = windowVerdict(entry, Date.now());
        if (!verdict.open) throw new HttpRefusal(verdict.status, verdict.reason);
        if (kind === 'segment' && segments.length === 4) {
          this.requireDash(entry);
          work = this.packager.dashSegment(entry.target, segments[1], segments[2], segments[3]).then((body) => this.sendSegment(req, res, entry, body, cors));
        } else if (kind === 'segment' && parsePartUri(segments[2]) !== undefined) {
          work = this.packager.part(entry.target, segments[1], segments[2]).then((body) => this.sendSegment(req, res, entry, body, cors));
        } else if (kind === 'segment') {
          const cached = this.packager.peekSegment(entry.target, segments[1], segments[2], Date.now());
          if (cached) return void done(200, this.sendSegment(req, res, entry, cached, cors));
          work = this.packager.segment(entry.target, segments[1], segments[2]).then((body) => this.sendSegment(req, res, entry, body, cors));
        } else {
          work = this.routeLocator(req, res, entry, segments, q < 0 ? '' : url.slice(q + 1), cors);
        }
      }
    } catch (error) {
      work = Promise.reject(error);
    }
    work.then(
      (bytes) => done(200, bytes),
      (error: unknown) => done(...this.refuse(res, error, url, cors)),
    );
  }

  private routeLocator(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    entry: LocatorEntry,
    segments: string[],
    query: string,
    cors: Record<string, string> | undefined,
  ): Promise<number> {
    const { locator, target } = entry;
    const token = playerToken(query);
    if (segments.length === 2 && segments[1] === `${locator.manifestName}.m3u8`) {
      this.requireProtocol(entry, 'hls');
      return this.packager.master(target).then((r) => this.sendPlaylist(res, r, token, 'application/vnd.apple.mpegurl', cors));
    }
    if (segments.length === 2 && segments[1] === `${locator.manifestName}.mpd`) {
      this.requireDash(entry);
      // A protected MPD names the license URL, with the player's token carried on as for HLS key URIs.
      const license = target.commonEncryption ? this.keyServiceUrl(req, CLEARKEY_PATH) : undefined;
      return this.packager.mpd(target, license?.uri).then((r) => {
        const sent = { ...r, parts: r.parts.map((part) => part.replace(SEND_TIME_SLOT, new Date().toISOString())) };
        return this.sendPlaylist(res, sent, license && token, 'application/dash+xml', cors, license?.forwarded);
      });
    }
    if (segments.length === 3 && segments[2] === MEDIA_PLAYLIST) {
      this.requireProtocol(entry, 'hls');
      if (target.commonEncryption?.scheme === 'cenc') throw new HttpRefusal(403, 'HLS is not offered for cenc locators (HLS carries common encryption as SAMPLE-AES, the cbcs scheme)');
      const key = target.keyId ? this.keyServiceUrl(req, `/keys/${target.keyId}`) : undefined;
      return this.mediaPlaylist(target, segments[1], query, key?.uri).then((r) => {
        // A held request may outlive the locator's publication window: the window decides at answer time too.
        const verdict = windowVerdict(entry, Date.now());
        if (!verdict.open) throw new HttpRefusal(verdict.status, verdict.reason);
        return this.sendPlaylist(res, r, token, 'application/vnd.apple.mpegurl', cors, key?.forwarded);
      });
    }
    throw new HttpRefusal(404, 'no such manifest or segment under this locator');
  }

  private requireDash(entry: LocatorEntry): void {
    this.requireProtocol(entry, 'dash');
    if (entry.target.keyId) throw new HttpRefusal(403, 'DASH is not offered for envelope-encrypted locators (AES-128 envelope is an HLS method)');
  }

  /** A media playlist: LL-HLS (blocking requests held) for a low-latency recording, else the plain one. */
  private async mediaPlaylist(target: PackagingTarget, rendition: string, query: string, keyUri?: string): Promise<Rendered> {
    const request = playlistRequest(query);
    // Protected with common encryption: whole segments only (see Packager.part), so the plain playlist.
    if (!target.commonEncryption && await this.packager.isLowLatencyLive(target)) return this.packager.lowLatencyMedia(target, rendition, request, keyUri);
    return this.packager.media(target, rendition, keyUri);
  }

  private requireProtocol(entry: LocatorEntry, protocol: 'hls' | 'dash'): void {
    if (!entry.locator.protocols.includes(protocol)) {
      throw new HttpRefusal(403, `protocol ${protocol} is not allowed by this locator's delivery policy (allowed: ${entry.locator.protocols.join(', ')})`);
    }
  }

  private async servePreview(
    res: http.ServerResponse,
    segments: string[],
    query: string,
    client: string | undefined,
    cors: Record<string, string> | undefined,
  ): Promise<number> {
    if (segments.length === 2 && segments[1] === 'hls.min.js') {
      return send(res, 200, hlsJs(), { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600' });
    }
    const channel = segments[1] ?? '';
    const allowList = this.previews.get(channel);
    if (!allowList) throw new HttpRefusal(404, 'no preview for this channel on this endpoint');
    if (!allowList.allows(client)) throw new HttpRefusal(403, 'your address is not in this channel\'s preview allow list');
    if (segments.length === 2) {
      return send(res, 200, Buffer.from(previewPage(channel)), {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
    }
    const target = await this.previewTarget(channel);
    if (segments.length === 3 && segments[2] === 'master.m3u8') {
      return this.sendPlaylist(res, await this.packager.master(target), undefined, 'application/vnd.apple.mpegurl', cors);
    }
    if (segments.length === 4 && segments[3] === MEDIA_PLAYLIST) {
      return this.sendPlaylist(res, await this.mediaPlaylist(target, segments[2], query), undefined, 'application/vnd.apple.mpegurl', cors);
    }
    if (segments.length === 4 && parsePartUri(segments[3])) return this.sendSegment(undefined, res, undefined, await this.packager.part(target, segments[2], segments[3]), cors);
    if (segments.length === 4) return this.sendSegment(undefined, res, undefined, await this.packager.segment(target, segments[2], segments[3]), cors);
    throw new HttpRefusal(404, 'no such preview resource');
  }

  /** The channel's current recording (else its newest asset), served in the clear. */
  private async previewTarget(channel: string): Promise<PackagingTarget> {
    const assets = (await this.store.assets()).filter((a) => a.channel === channel);
    if (assets.length === 0) throw new HttpRefusal(404, `channel ${channel} has not recorded anything yet`);
    assets.sort((a, b) => Number(b.state === 'recording') - Number(a.state === 'recording') || b.updatedAt.localeCompare(a.updatedAt));
    return { assetName: assets[0].asset, archiveWindowSeconds: assets[0].archiveWindowSeconds };
  }

  /**
   * Key service URL (of a content key, or of ClearKey licenses), from configuration (keyDelivery.publicBaseUrl, else the endpoint's
   * host on the key port), never from the Host header: a cached playlist must not send players to
   * whatever key server a forged Host named. Behind a declared proxy (without a public base URL), the
   * host it forwards; such a playlist is that request's own (`forwarded`: not for shared caches).
   */
  private keyServiceUrl(req: http.IncomingMessage, path: string): { readonly uri: string; readonly forwarded: boolean } {
    const { publicBaseUrl, port, baseUrl } = this.options.config.keyDelivery;
    const proxied = publicBaseUrl === undefined && this.options.config.endpoint.trustedProxies.length > 0 ? this.forwarding.forwardedHost(req) : undefined;
    if (proxied) return { uri: `${proxied.proto}://${proxied.host}:${port}${path}`, forwarded: true };
    return { uri: `${baseUrl}${path}`, forwarded: false };
  }

  private clientAddress(req: http.IncomingMessage): string | undefined {
    return this.forwarding.clientAddress(req);
  }

  /**
   * The fast path: a segment answered moments ago, sent again as is when the client may have it
   * (allow list, locator window) and needs nothing else (a plain GET without CORS). Returns false
   * to let the full path decide.
   */
  private serveHot(req: http.IncomingMessage, res: http.ServerResponse, hot: HotSegment, started: number): boolean {
    if (req.method !== 'GET' || req.headers.origin !== undefined) return false;
    if (!this.allowList.allows(this.clientAddress(req)) || !windowVerdict(hot.entry, Date.now()).open) return false;
    if (req.headers.range === undefined) {
      res.writeHead(200, hot.headers as string[]);
      res.end(hot.body);
    } else {
      // The stored list ends with the whole answer's range headers (see sendSegment): replace them.
      this.writeRanged(req, res, hot.body, hot.headers.slice(0, hot.headers.length - WHOLE_RANGE_HEADERS));
    }
    this.hotRecord.segmentHit();
    if (hot.encrypted) this.hotRecord.encryptedHit();
    this.hotRecord.request(hot.body.length, (performance.now() - started) / 1000);
    return true;
  }

  private sendSegment(
    req: http.IncomingMessage | undefined,
    res: http.ServerResponse,
    entry: LocatorEntry | undefined,
    body: Buffer,
    cors: Record<string, string> | undefined,
  ): number {
    const headers = ['Content-Type', 'video/mp4', 'Cache-Control', this.segmentCacheControl];
    if (req && entry && req.method === 'GET' && !cors) {
      // The whole answer, ranged or not: the fast path cuts ranges from its body (its range headers come last).
      const whole = [...headers, ...rangeStatus({ kind: 'whole' }, body.length).headers];
      this.hot.remember(req.url ?? '', { entry, body, headers: whole, encrypted: entry.target.keyId !== undefined || entry.target.commonEncryption !== undefined }, Date.now());
    }
    if (cors) for (const [name, value] of Object.entries(cors)) headers.push(name, value);
    return this.writeRanged(req, res, body, headers);
  }

  /** Writes `body`, or the byte range the request asks for (206, or 416 when none of it exists): see byte-range.ts. */
  private writeRanged(req: http.IncomingMessage | undefined, res: http.ServerResponse, body: Buffer, headers: string[]): number {
    const ifRange = req?.headers['if-range'];
    const answer = answerRange(req?.headers.range, body.length, typeof ifRange === 'string' ? ifRange : undefined);
    const { status, headers: rangeHeaders } = rangeStatus(answer, body.length);
    const sent = sliceFor(answer, body);
    res.writeHead(status, [...headers, ...rangeHeaders]);
    res.end(sent);
    return sent.length;
  }

  private sendPlaylist(res: http.ServerResponse, rendered: Rendered, token: string | undefined, type: string, cors: Record<string, string> | undefined, perRequest = false): number {
    const text = rendered.parts.join(token ? `?token=${encodeURIComponent(token)}` : '');
    // Live playlists change every segment; a playlist carrying a player's token (or a key URI built
    // from its forwarded host) is that request's alone. An answer to a blocking request stays valid for
    // its URL (it names the part it waited for), so a CDN may keep it and collapse the same requests of
    // many players into one.
    const maxAge = rendered.blockingMaxAgeSeconds ?? (rendered.live ? 1 : this.vodPlaylistMaxAge);
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': type, 'Cache-Control': `${token || perRequest ? 'private' : 'public'}, max-age=${maxAge}`, ...cors };
    // nginx (the balancer) passes a held answer on as it comes, never buffered.
    if (rendered.blockingMaxAgeSeconds !== undefined) headers['X-Accel-Buffering'] = 'no';
    return send(res, 200, Buffer.from(text), headers);
  }

  private async serveMetrics(res: http.ServerResponse): Promise<number> {
    const text = await this.metrics.registry.metrics();
    return send(res, 200, Buffer.from(text), { 'Content-Type': this.metrics.registry.contentType, 'Cache-Control': 'no-store' });
  }

  private refuse(res: http.ServerResponse, error: unknown, url: string, cors: Record<string, string> | undefined): [number, number] {
    let status = 500;
    let message = 'internal error (see the origin log)';
    if (error instanceof HttpRefusal || error instanceof PackagingRefusal) {
      status = error.status;
      message = error.message;
    } else if (error instanceof NotFoundError) {
      status = 404;
      message = error.message;
    } else {
      this.options.log.error(`GET ${url.split('?')[0]}: ${(error as Error).message}`);
    }
    if (res.headersSent) {
      res.destroy();
      return [status, 0];
    }
    return [status, sendText(res, status, `${message}\n`, cors)];
  }
}

/** What a request asks for, from the shape of its path (before any lookup, so refusals are counted by kind too). */
function requestKind(segments: readonly string[]): RequestKind {
  if (segments[0] === PREVIEW) return 'preview';
  if (segments.length === 2) {
    if (segments[1].endsWith('.m3u8')) return 'master';
    if (segments[1].endsWith('.mpd')) return 'mpd';
  }
  if (segments.length === 3) return segments[2] === MEDIA_PLAYLIST ? 'media' : 'segment';
  // DASH: /<locator>/<rendition>/<run>/<number>.m4s (see dash-render.ts)
  if (segments.length === 4) return 'segment';
  return 'other';
}

/** `_HLS_msn`, `_HLS_part` and `_HLS_skip` of a media playlist request (RFC 8216bis 6.2.5); malformed numbers are refused. */
function playlistRequest(query: string): PlaylistRequest {
  if (!query.includes('_HLS_')) return { skip: false };
  const params = new URLSearchParams(query);
  const number = (name: string): number | undefined => {
    const value = params.get(name);
    if (value === null) return undefined;
    if (!/^\d{1,15}$/.test(value)) throw new PackagingRefusal(400, `${name} must be a non-negative integer, got ${JSON.stringify(value.slice(0, 20))}`);
    return Number(value);
  };
  const skip = params.get('_HLS_skip');
  return { msn: number('_HLS_msn'), part: number('_HLS_part'), skip: skip === 'YES' || skip === 'v2' };
}

/** The `token` query parameter, if it looks like a JWT (anything else is not carried on). */
function playerToken(query: string): string | undefined {
  if (!query.includes('token=')) return undefined;
  const token = new URLSearchParams(query).get('token') ?? undefined;
  return token && JWT_CHARS.test(token) ? token : undefined;
}
