/**
 * Dynamic packaging and encryption: turns what ingest stored into what a player asks for — HLS master
 * and media playlists, DASH MPDs, and segment bodies (clear, AES-128 encrypted, or protected with
 * common encryption: cenc-packaging.ts) — for one packaging target (a locator, or a channel preview).
 * Rendered playlists are reused for a fraction of a segment; encrypted bodies are cached by bytes so
 * hot segments are encrypted once.
 */
import { AssetDescriptor } from '../../contract/storage-layout';
import { readOrCreateContentKey } from '../keys/content-key-store';
import { ClearKeyProvider } from '../keys/clearkey';
import { CencPackaging, CommonEncryptionTarget } from './cenc-packaging';
import { protectMpd } from './dash-protection';
import { sampleAesKeyLines } from './hls-protection';
import { AssetStore, FileEntry, NotFoundError } from './asset-store';
import { ByteLru } from './byte-lru';
import { DashRendition, DashRun, DashSegment, initStem, renderMpd } from './dash-render';
import { InitTiming, presentationTime } from '../mp4/fragment-timing';
import { renderMaster, renderMediaPlaylist, TOKEN_SLOT } from './hls-render';
import { StoredPlaylist, windowed } from '../media-playlist';
import { encryptSegment, ivAttribute, segmentIv } from './segment-crypto';
import { TtlCache } from './ttl-cache';
import { LiveEdges } from './live-edges';
import { BatchedRelease } from './batched-release';
import { blockingVerdict, lastPartOf, LowLatencyPlaylist, mergeLiveEdge, parsePartUri, partVerdict, renderLowLatencyPlaylist, RenditionReport } from './ll-hls';

/** A request the origin answers with a status other than 200 (a blocking request too far ahead, or not answered in time). */
export class PackagingRefusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A blocking playlist request (RFC 8216bis 6.2.5): `_HLS_msn`, `_HLS_part`, `_HLS_skip`. */
export interface PlaylistRequest {
  readonly msn?: number;
  readonly part?: number;
  readonly skip: boolean;
}

export type CacheName = 'segment' | 'encrypted' | 'playlist';

/** What to package: an asset, its DVR depth and its encryption. */
export interface PackagingTarget {
  readonly assetName: string;
  readonly archiveWindowSeconds: number;
  /** Content key id when the target is envelope-encrypted. */
  readonly keyId?: string;
  /** Scheme, key id and DRM systems when the target is protected with common encryption. */
  readonly commonEncryption?: CommonEncryptionTarget;
}

export interface PackagerOptions {
  /** Budget of encrypted and protected bodies. */
  readonly encryptedCacheBytes: number;
  readonly playlistTtlMs: number;
  /** The key service's ClearKey license URL as configured (keys/clearkey.ts CLEARKEY_PATH on its base URL). */
  readonly licenseUrl: string;
}

/** Rendered text, split where the player's token goes (see TOKEN_SLOT). */
export interface Rendered {
  readonly parts: readonly string[];
  /** Whether the asset is still recording (drives cache lifetimes). */
  readonly live: boolean;
  /** An answer to a blocking request: the same URL always gets a playlist at least this new, so caches may keep it this long. */
  readonly blockingMaxAgeSeconds?: number;
}

/** Held playlist requests answered per event-loop turn: a few milliseconds of writes at most. */
const ANSWERS_PER_TURN = 32;

const SEGMENT_EXTENSIONS = /\.(m4s|mp4|m4a|m4v|cmfv|cmfa|cmft)$/;

export class Packager {
  private readonly rendered = new TtlCache<Rendered>(2048);
  private readonly encrypted: ByteLru<Buffer>;
  private readonly encrypting = new Map<string, Promise<Buffer>>();
  private readonly contentKeys = new Map<string, Buffer>();
  private readonly partBodies: ByteLru<Buffer>;
  private readonly merged = new Map<string, { stored: StoredPlaylist; version: number; playlist?: LowLatencyPlaylist }>();
  /** Blocking playlist requests being held, by what they wait for (see lowLatencyMedia). */
  private readonly held = new Map<string, Promise<Rendered>>();
  private readonly answers = new BatchedRelease(ANSWERS_PER_TURN);
  readonly liveEdges: LiveEdges;
  private readonly cenc: CencPackaging;

  constructor(
    private readonly store: AssetStore,
    private readonly storageDir: string,
    private readonly options: PackagerOptions,
    private readonly onCache: (cache: CacheName, hit: boolean) => void,
  ) {
    this.encrypted = new ByteLru(options.encryptedCacheBytes);
    this.partBodies = new ByteLru(Math.max(1 << 20, options.encryptedCacheBytes / 8));
    this.liveEdges = new LiveEdges(storageDir);
    this.cenc = new CencPackaging(store, this.encrypted, {
      licenseUrl: options.licenseUrl,
      providerFor: (licenseUrl) => new ClearKeyProvider({ storageDir, licenseUrl }),
    });
  }

  close(): void {
    this.liveEdges.close();
  }

  /** Whether `target` is a low-latency recording still being recorded (its media playlists are LL-HLS). */
  async isLowLatencyLive(target: PackagingTarget): Promise<boolean> {
    const asset = await this.store.descriptor(target.assetName);
    return asset.lowLatency !== undefined && asset.state === 'recording';
  }

  /**
   * The LL-HLS media playlist of a rendition. A blocking request waits (up to three target durations,
   * then 503) until the segment or part it names is there; one too far ahead is refused (400). Falls
   * back to the plain playlist when the recording has no live edge to show (then blocking is not offered).
   * Requests held for the same thing share one wait and one rendering, and are answered a batch per
   * event-loop turn: hundreds of players held for one part cost about what one does, and delay no one.
   */
  async lowLatencyMedia(target: PackagingTarget, rendition: string, request: PlaylistRequest, keyUri?: string): Promise<Rendered> {
    if (request.part !== undefined && request.msn === undefined) throw new PackagingRefusal(400, '_HLS_part needs _HLS_msn');
    if (request.msn === undefined) return this.lowLatencyNow(target, rendition, request.skip, keyUri);
    const key = [target.assetName, rendition, target.archiveWindowSeconds, target.keyId ?? '', keyUri ?? '', request.msn, request.part ?? '', request.skip ? 1 : 0].join('|');
    let held = this.held.get(key);
    if (!held) {
      held = this.holdFor(target, rendition, request.msn, request.part, request.skip, keyUri).finally(() => this.held.delete(key));
      this.held.set(key, held);
    }
    const rendered = await held;
    await this.answers.turn();
    return rendered;
  }

  private async lowLatencyNow(target: PackagingTarget, rendition: string, skip: boolean, keyUri?: string): Promise<Rendered> {
    const { playlist, version } = await this.lowLatencyState(target, rendition);
    if (!playlist) return this.media(target, rendition, keyUri);
    return this.renderLowLatency(target, rendition, playlist, version, skip, keyUri);
  }

  private async holdFor(target: PackagingTarget, rendition: string, msn: number, part: number | undefined, skip: boolean, keyUri?: string): Promise<Rendered> {
    let deadline: number | undefined;
    for (;;) {
      const { playlist, version } = await this.lowLatencyState(target, rendition);
      if (!playlist) return this.media(target, rendition, keyUri);
      const verdict = blockingVerdict(playlist, msn, part);
      if (verdict.kind === 'refuse') throw new PackagingRefusal(verdict.status, verdict.reason);
      if (verdict.kind === 'ready') {
        const rendered = await this.renderLowLatency(target, rendition, playlist, version, skip, keyUri);
        return { ...rendered, blockingMaxAgeSeconds: 3 * playlist.targetDurationSeconds };
      }
      deadline ??= Date.now() + 3 * playlist.targetDurationSeconds * 1000;
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.liveEdges.changed(target.assetName, rendition, version, left))) {
        throw new PackagingRefusal(503, `the requested ${part !== undefined ? `part ${part} of segment` : 'segment'} ${msn} was not written within three target durations`);
      }
    }
  }

  /**
   * A part (`<segment>.part<i>.m4s`) of a low-latency recording: a byte range of its segment's file,
   * encrypted on its own under its segment's IV when the target is. A part not written yet but on its way
   * (what EXT-X-PRELOAD-HINT names, or what another replica already lists) is waited for, up to three
   * segment durations... then 503; one that never comes is 404.
   */
  async part(target: PackagingTarget, rendition: string, file: string): Promise<Buffer> {
    const named = parsePartUri(file);
    const asset = await this.store.descriptor(target.assetName);
    this.requireRendition(asset, rendition);
    if (!named || !asset.lowLatency) throw new NotFoundError(`${rendition}/${file} is not a part of this recording`);
    // Rule common-encryption-standard-latency keeps protected locators off low-latency channels; should
    // one get here anyway, its parts are not sent (they would leave in the clear).
    if (target.commonEncryption) throw new PackagingRefusal(403, `parts are not offered for ${target.commonEncryption.scheme}-protected locators (protection is per segment)`);
    const maxParts = Math.ceil(asset.segmentDurationSeconds / asset.lowLatency.partTargetSeconds) + 1;
    const waitMs = 3 * Math.max(1, Math.round(asset.segmentDurationSeconds)) * 1000;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const view = await this.liveEdges.get(target.assetName, rendition);
      const verdict = partVerdict(view.edge?.segments ?? [], named.segmentUri, named.index, maxParts);
      if (verdict.kind === 'ready') return this.partBody(target, rendition, named.segmentUri, named.index, verdict.part.offset, verdict.part.length);
      if (verdict.kind === 'gone') throw new NotFoundError(`${rendition}/${file} is not a part of the live edge: ${verdict.reason}`);
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.liveEdges.changed(target.assetName, rendition, view.version, left))) {
        throw new PackagingRefusal(503, `${rendition}/${file} was not written in time`);
      }
    }
  }

  master(target: PackagingTarget): Promise<Rendered> {
    return this.render(`m|${target.assetName}`, async () => {
      const asset = await this.store.descriptor(target.assetName);
      return { parts: renderMaster(asset).split(TOKEN_SLOT), live: asset.state === 'recording' };
    });
  }

  /** @param keyUri key service URL of the target's content key (without token) when encrypted */
  media(target: PackagingTarget, rendition: string, keyUri?: string): Promise<Rendered> {
    const keyId = target.keyId;
    return this.render(`p|${target.assetName}|${rendition}|${target.archiveWindowSeconds}|${keyId ?? ''}|${keyUri ?? ''}|${protectionKey(target)}`, async () => {
      const asset = await this.store.descriptor(target.assetName);
      this.requireRendition(asset, rendition);
      const stored = this.window(await this.store.playlist(target.assetName, rendition), asset, target);
      const envelope = keyId && keyUri
        ? { keyUri, ivFor: (file: string) => ivAttribute(segmentIv(keyId, rendition, file)) }
        : undefined;
      const common = target.commonEncryption;
      const sampleAes = common ? sampleAesKeyLines(await this.cenc.signalling(common)) : [];
      return { parts: renderMediaPlaylist(stored, envelope, sampleAes).split(TOKEN_SLOT), live: !stored.endList };
    });
  }

  /** @param licenseUrl ClearKey license URL players are sent to (without token) when the target uses common encryption */
  mpd(target: PackagingTarget, licenseUrl?: string): Promise<Rendered> {
    return this.render(`d|${target.assetName}|${target.archiveWindowSeconds}|${protectionKey(target)}|${licenseUrl ?? ''}`, async () => {
      const asset = await this.store.descriptor(target.assetName);
      const live = asset.state === 'recording';
      const renditions = await Promise.all(asset.renditions.map(async (rendition) => {
        const stored = this.window(await this.store.playlist(target.assetName, rendition.name), asset, target);
        return this.dashRendition(target.assetName, rendition, stored);
      }));
      const body = renderMpd({
        live,
        assetStartMs: Date.parse(asset.startedAt),
        archiveWindowSeconds: target.archiveWindowSeconds,
        segmentDurationSeconds: asset.segmentDurationSeconds,
        renditions,
        nowMs: Date.now(),
      });
      const common = target.commonEncryption;
      if (!common) return { parts: [body], live };
      const systems = await this.cenc.signalling(common, licenseUrl);
      return { parts: protectMpd(body, { scheme: common.scheme, keyId: common.keyId, systems }).split(TOKEN_SLOT), live };
    });
  }

  /**
   * A DASH segment: number `sequence` of the rendition's stored playlist, which must belong to the
   * run `stem` names (see dash-render.ts). A number just past the cached playlist's end (a player that
   * read a fresher MPD, maybe from another replica) reads the playlist again, at most every 100 ms.
   */
  async dashSegment(target: PackagingTarget, rendition: string, stem: string, file: string): Promise<Buffer> {
    const match = /^(\d{1,15})\.m4s$/.exec(file);
    if (!match) throw new NotFoundError(`${rendition}/${stem}/${file} is not a DASH segment name (<number>.m4s)`);
    const sequence = Number(match[1]);
    let stored = await this.store.playlist(target.assetName, rendition);
    const last = stored.segments[stored.segments.length - 1];
    if (last && sequence > last.sequence && sequence <= last.sequence + 2) stored = await this.store.playlist(target.assetName, rendition, 100);
    const first = stored.segments[0];
    const segment = first ? stored.segments[sequence - first.sequence] : undefined;
    if (!segment || segment.sequence !== sequence || !segment.mapUri || initStem(segment.mapUri) !== stem) {
      throw new NotFoundError(`asset ${target.assetName} has no segment ${sequence} of ${rendition}/${stem}`);
    }
    return this.segment(target, rendition, segment.uri);
  }

  /** A segment body already in memory (clear or encrypted as the target needs), or undefined. */
  peekSegment(target: PackagingTarget, rendition: string, file: string, now: number): Buffer | undefined {
    const entry = this.store.peekFile(target.assetName, rendition, file, now);
    this.onCache('segment', entry !== undefined);
    if (entry && target.commonEncryption) {
      const body = this.cenc.peek(target.commonEncryption, rendition, file, entry);
      this.onCache('encrypted', body !== undefined);
      return body;
    }
    if (!entry || !target.keyId) return entry?.body;
    const body = this.encrypted.get(encryptedKey(target.keyId, rendition, file, entry));
    this.onCache('encrypted', body !== undefined);
    return body;
  }

  /** A segment body, reading and encrypting as needed. */
  async segment(target: PackagingTarget, rendition: string, file: string): Promise<Buffer> {
    if (!SEGMENT_EXTENSIONS.test(file)) throw new NotFoundError(`${rendition}/${file} is not a media segment`);
    const asset = await this.store.descriptor(target.assetName);
    this.requireRendition(asset, rendition);
    const entry = await this.store.loadFile(target.assetName, rendition, file);
    if (target.commonEncryption) return this.cenc.protect(target.commonEncryption, target.assetName, rendition, file, entry);
    const keyId = target.keyId;
    if (!keyId) return entry.body;
    const cacheKey = encryptedKey(keyId, rendition, file, entry);
    const cached = this.encrypted.get(cacheKey);
    if (cached) return cached;
    let pending = this.encrypting.get(cacheKey);
    if (!pending) {
      pending = Promise.resolve().then(() => {
        const body = encryptSegment(entry.body, this.contentKey(keyId), segmentIv(keyId, rendition, file));
        this.encrypted.set(cacheKey, body);
        return body;
      }).finally(() => this.encrypting.delete(cacheKey));
      this.encrypting.set(cacheKey, pending);
    }
    return pending;
  }

  private async lowLatencyState(target: PackagingTarget, rendition: string): Promise<{ playlist?: LowLatencyPlaylist; version: number }> {
    const asset = await this.store.descriptor(target.assetName);
    this.requireRendition(asset, rendition);
    const stored = await this.store.playlist(target.assetName, rendition);
    const view = await this.liveEdges.get(target.assetName, rendition);
    // Hundreds of requests held for one part wake together: they share one merge, not one each.
    const key = `${target.assetName}|${rendition}|${target.archiveWindowSeconds}`;
    const known = this.merged.get(key);
    if (known && known.stored === stored && known.version === view.version) return known;
    const state = { stored, version: view.version, playlist: mergeLiveEdge(this.window(stored, asset, target), view.edge) };
    if (this.merged.size >= 1024 && !this.merged.has(key)) this.merged.clear();
    this.merged.set(key, state);
    return state;
  }

  private async renderLowLatency(target: PackagingTarget, rendition: string, playlist: LowLatencyPlaylist, version: number, skip: boolean, keyUri?: string): Promise<Rendered> {
    const asset = await this.store.descriptor(target.assetName);
    // Reports of the other renditions, so players switch without a blocking round trip.
    const others = asset.renditions.filter((r) => r.name !== rendition);
    const states = await Promise.all(others.map((r) => this.lowLatencyState(target, r.name).catch(() => undefined)));
    const reports: RenditionReport[] = [];
    others.forEach((r, i) => {
      const other = states[i]?.playlist;
      if (!other) return;
      const last = lastPartOf(other);
      reports.push({ uri: `../${r.name}/index.m3u8`, lastMsn: last.msn, lastPart: last.part });
    });
    const versions = [version, ...states.map((x) => x?.version ?? 0)].join('.');
    const keyId = target.keyId;
    const key = `l|${target.assetName}|${rendition}|${target.archiveWindowSeconds}|${keyId ?? ''}|${keyUri ?? ''}|${skip ? 1 : 0}|${versions}`;
    return this.render(key, async () => {
      const envelope = keyId && keyUri ? { keyUri, ivFor: (file: string) => ivAttribute(segmentIv(keyId, rendition, file)) } : undefined;
      return { parts: renderLowLatencyPlaylist(playlist, { envelope, skip, reports }).split(TOKEN_SLOT), live: true };
    });
  }

  private async partBody(target: PackagingTarget, rendition: string, segmentUri: string, index: number, offset: number, length: number): Promise<Buffer> {
    const keyId = target.keyId;
    const cacheKey = `${target.assetName}/${rendition}/${segmentUri}#${index}|${keyId ?? ''}`;
    const cached = this.partBodies.get(cacheKey);
    if (cached) return cached;
    const clear = await this.store.readRange(target.assetName, rendition, segmentUri, offset, length);
    const body = keyId ? encryptSegment(clear, this.contentKey(keyId), segmentIv(keyId, rendition, segmentUri)) : clear;
    this.partBodies.set(cacheKey, body);
    return body;
  }

  private contentKey(keyId: string): Buffer {
    let key = this.contentKeys.get(keyId);
    if (!key) {
      key = readOrCreateContentKey(this.storageDir, keyId);
      this.contentKeys.set(keyId, key);
    }
    return key;
  }

  private render(key: string, make: () => Promise<Rendered>): Promise<Rendered> {
    const fresh = this.rendered.peek(key);
    this.onCache('playlist', fresh !== undefined);
    if (fresh) return Promise.resolve(fresh);
    return this.rendered.get(key, this.options.playlistTtlMs, make);
  }

  private window(stored: StoredPlaylist, asset: AssetDescriptor, target: PackagingTarget): StoredPlaylist {
    if (stored.segments.length === 0) throw new NotFoundError(`asset ${asset.asset} has no segments yet`);
    return stored.endList ? stored : windowed(stored, target.archiveWindowSeconds);
  }

  private requireRendition(asset: AssetDescriptor, rendition: string): void {
    if (!asset.renditions.some((r) => r.name === rendition)) throw new NotFoundError(`asset ${asset.asset} has no rendition ${rendition}`);
  }

  /**
   * A rendition's segments as DASH needs them, grouped by init section: each fragment's presentation
   * time from its `tfdt`/`trun` and its run's edit list, each duration up to the next fragment of the
   * run (the playlist's rounded duration for the last one, and before a gap).
   */
  private async dashRendition(assetName: string, rendition: AssetDescriptor['renditions'][number], stored: StoredPlaylist): Promise<DashRendition> {
    const timings = await Promise.all(stored.segments.map((s) => this.store.fragmentTiming(assetName, rendition.name, s.uri).catch(() => undefined)));
    const runs: DashRun[] = [];
    let run: { mapUri: string; timescale: number; init: InitTiming; segments: DashSegment[] } | undefined;
    for (const [index, s] of stored.segments.entries()) {
      if (!s.mapUri) continue;
      if (run?.mapUri !== s.mapUri) {
        const init = await this.store.initTiming(assetName, rendition.name, s.mapUri).catch(() => undefined) ?? { timescale: 1000, presentationShift: 0 };
        run = { mapUri: s.mapUri, timescale: init.timescale, init, segments: [] };
        runs.push(run);
      }
      const last = run.segments[run.segments.length - 1];
      const fragment = timings[index];
      const nominal = Math.max(1, Math.round(s.durationSeconds * run.timescale));
      const time = fragment ? presentationTime(fragment, run.init) : last ? last.time + last.duration : 0;
      // The next fragment says where this one ends, unless a gap (a program restarted) lies between.
      const gap = last ? time - last.time : 0;
      if (last && gap > last.duration / 2 && gap < last.duration * 1.5) run.segments[run.segments.length - 1] = { ...last, duration: gap };
      run.segments.push({ sequence: s.sequence, time, duration: nominal, decodeTime: fragment?.decodeTime ?? time, programDateTimeMs: s.programDateTimeMs });
    }
    return { rendition, runs };
  }
}

function encryptedKey(keyId: string, rendition: string, file: string, entry: FileEntry): string {
  return `${keyId}|${rendition}/${file}|${entry.stamp}`;
}

/** What distinguishes a target's protected renderings (scheme, key, systems). */
function protectionKey(target: PackagingTarget): string {
  const common = target.commonEncryption;
  return common ? `${common.scheme}:${common.keyId}:${common.keySystems.join(',')}` : '';
}
