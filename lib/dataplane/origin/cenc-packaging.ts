/**
 * Common encryption on the fly, as envelope encryption is done: the origin reads the clear CMAF the
 * ingest stored and serves `cenc`- or `cbcs`-protected copies (lib/dataplane/origin/cenc), the init
 * section with `encv`/`enca`, `sinf`/`tenc` and the key provider's `pssh`, each media segment with
 * `senc`/`saiz`/`saio` and its samples encrypted. Bodies are cached by the clear file's stamp in the
 * packager's byte-bounded cache, so a hot segment is protected once; the protected track of each
 * init section (what fragments need) is kept beside it, bounded by count.
 *
 * Keys and DRM signalling come from a `KeyProvider` (keys/key-provider.ts): ClearKey here, a
 * commercial DRM's provider in its place without a change to this module.
 */
import { CencScheme, fragmentIv, protectFragment, protectInit, ProtectedTrack, trackConstantIv } from './cenc';
import { CLEARKEY_SYSTEM_ID } from '../keys/clearkey';
import { ContentKey, DrmSystemSignalling, KeyProvider } from '../keys/key-provider';
import { KeySystem } from '../../model/values/delivery-encryption';
import { AssetStore, FileEntry, NotFoundError } from './asset-store';
import { ByteLru } from './byte-lru';

/** A locator's common encryption, as the packager needs it. */
export interface CommonEncryptionTarget {
  readonly scheme: CencScheme;
  /** Content key id, 32 hex digits (contract/content-keys.ts). */
  readonly keyId: string;
  readonly keySystems: readonly KeySystem[];
}

/** The DRM system id each key system is signalled under. */
const SYSTEM_IDS: Record<KeySystem, string> = { clearkey: CLEARKEY_SYSTEM_ID };

/** Protected tracks kept (one per init section of each protected rendition); small objects. */
const MAX_TRACKS = 4096;
/** Providers kept by license URL (one per key service URL players are sent to: normally one). */
const MAX_PROVIDERS = 16;

export interface CencPackagingOptions {
  /** The license URL of the key service as configured (what segments' keys are asked for under). */
  readonly licenseUrl: string;
  /** The key provider that signals `licenseUrl` to players. */
  readonly providerFor: (licenseUrl: string) => KeyProvider;
}

interface Keyed {
  readonly key: ContentKey;
  readonly systems: readonly DrmSystemSignalling[];
}

export class CencPackaging {
  private readonly providers = new Map<string, KeyProvider>();
  private readonly keyed = new Map<string, Promise<Keyed>>();
  private readonly tracks = new Map<string, ProtectedTrack>();
  private readonly protecting = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly store: AssetStore,
    private readonly cache: ByteLru<Buffer>,
    private readonly options: CencPackagingOptions,
  ) {}

  /** What players need signalled for `target` (MPD ContentProtection, HLS EXT-X-KEY), with `licenseUrl` as the license server. */
  async signalling(target: CommonEncryptionTarget, licenseUrl = this.options.licenseUrl): Promise<readonly DrmSystemSignalling[]> {
    return (await this.keys(target, licenseUrl)).systems;
  }

  /** A protected body already in memory for this version of the clear file, or undefined. */
  peek(target: CommonEncryptionTarget, rendition: string, file: string, clear: FileEntry): Buffer | undefined {
    return this.cache.get(cacheKey(target, rendition, file, clear));
  }

  /** The protected copy of `file` (an init section or a media segment listed in the rendition's stored playlist). */
  async protect(target: CommonEncryptionTarget, assetName: string, rendition: string, file: string, clear: FileEntry): Promise<Buffer> {
    const key = cacheKey(target, rendition, file, clear);
    const cached = this.cache.get(key);
    if (cached) return cached;
    let pending = this.protecting.get(key);
    if (!pending) {
      pending = this.build(target, assetName, rendition, file, clear).then((body) => {
        this.cache.set(key, body);
        return body;
      }).finally(() => this.protecting.delete(key));
      this.protecting.set(key, pending);
    }
    return pending;
  }

  private async build(target: CommonEncryptionTarget, assetName: string, rendition: string, file: string, clear: FileEntry): Promise<Buffer> {
    const playlist = await this.store.playlist(assetName, rendition);
    if (playlist.segments.some((s) => s.mapUri === file)) return (await this.initOf(target, assetName, rendition, file, clear)).init;
    const listed = playlist.segments.find((s) => s.uri === file);
    if (!listed?.mapUri) throw new NotFoundError(`${rendition}/${file} is not listed in asset ${assetName}'s playlist (protected copies are made of listed files only)`);
    const initEntry = await this.store.loadFile(assetName, rendition, listed.mapUri);
    const { track } = await this.initOf(target, assetName, rendition, listed.mapUri, initEntry);
    const { key } = await this.keys(target);
    const firstIv = track.perSampleIvSize > 0 ? fragmentIv(target.keyId, rendition, file, track.perSampleIvSize as 8 | 16) : undefined;
    return protectFragment(clear.body, track, { key: key.key, firstIv }, `asset ${assetName}: ${rendition}/${file}`);
  }

  /** The protected init section and its track (kept, so fragments find it without protecting the init again). */
  private async initOf(target: CommonEncryptionTarget, assetName: string, rendition: string, mapUri: string, clear: FileEntry): Promise<{ init: Buffer; track: ProtectedTrack }> {
    const trackKey = cacheKey(target, rendition, mapUri, clear);
    const track = this.tracks.get(trackKey);
    const body = this.cache.get(trackKey);
    if (track && body) return { init: body, track };
    const { key, systems } = await this.keys(target);
    const psshBoxes = unique(systems.flatMap((s) => (s.pssh ? [s.pssh] : [])));
    const protectedInit = protectInit(clear.body, {
      scheme: target.scheme,
      keyId: key.keyId,
      psshBoxes,
      constantIv: target.scheme === 'cbcs' ? trackConstantIv(target.keyId, rendition) : undefined,
    }, `asset ${assetName}: ${rendition}/${mapUri}`);
    if (this.tracks.size >= MAX_TRACKS) this.tracks.delete(this.tracks.keys().next().value as string);
    this.tracks.set(trackKey, protectedInit.track);
    this.cache.set(trackKey, protectedInit.init);
    return protectedInit;
  }

  /** The content key and the signalling of `target`'s key systems (asked once per key id and license URL). */
  private keys(target: CommonEncryptionTarget, licenseUrl = this.options.licenseUrl): Promise<Keyed> {
    const memo = `${target.keyId}|${target.keySystems.join(',')}|${licenseUrl}`;
    let keyed = this.keyed.get(memo);
    if (!keyed) {
      const provider = this.provider(licenseUrl);
      keyed = provider.provide({
        contentId: target.keyId,
        keyIds: [Buffer.from(target.keyId, 'hex')],
        systemIds: target.keySystems.map((system) => SYSTEM_IDS[system]),
      }).then((response) => ({ key: response.keys[0], systems: response.systems }));
      // A failed provision is not remembered: the next request asks again.
      keyed.catch(() => this.keyed.delete(memo));
      if (this.keyed.size >= MAX_PROVIDERS * 64) this.keyed.clear();
      this.keyed.set(memo, keyed);
    }
    return keyed;
  }

  private provider(licenseUrl: string): KeyProvider {
    let provider = this.providers.get(licenseUrl);
    if (!provider) {
      if (this.providers.size >= MAX_PROVIDERS) this.providers.clear();
      provider = this.options.providerFor(licenseUrl);
      this.providers.set(licenseUrl, provider);
    }
    return provider;
  }
}

function cacheKey(target: CommonEncryptionTarget, rendition: string, file: string, clear: FileEntry): string {
  return `${target.scheme}|${target.keyId}|${target.keySystems.join(',')}|${rendition}/${file}|${clear.stamp}`;
}

function unique(boxes: readonly Buffer[]): Buffer[] {
  return boxes.filter((box, index) => boxes.findIndex((other) => other.equals(box)) === index);
}
