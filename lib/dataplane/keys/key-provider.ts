/**
 * The key-provider interface between the packager and whatever holds content keys, shaped as SPEKE
 * (AWS Secure Packager and Encoder Key Exchange, on the DASH-IF CPIX document): the packager asks
 * for the keys of some key ids of one piece of content for some DRM systems, and gets the keys plus,
 * per DRM system, what to signal (the `pssh` box, the DASH `ContentProtection` element, the HLS
 * `EXT-X-KEY` attributes). A commercial DRM (Widevine, PlayReady, FairPlay) plugs in as another
 * `KeyProvider` that calls its vendor's key server; the packager does not change.
 *
 * ```ts
 * const provider = new ClearKeyProvider({ storageDir, licenseUrl: 'https://keys.example.com/clearkey' });
 * const { keys, systems } = await provider.provide({ contentId: locatorId, keyIds: [kid], systemIds: [CLEARKEY_SYSTEM_ID] });
 * protectInit(init, { scheme: 'cenc', keyId: kid, psshBoxes: systems.flatMap((s) => s.pssh ?? []) }, where);
 * ```
 */

/** DASH `ContentProtection` of one DRM system (ISO/IEC 23009-1 5.8.4.1, DASH-IF IOP 7). */
export interface DashContentProtection {
  /** `urn:uuid:<system id>` */
  readonly schemeIdUri: string;
  /** e.g. `ClearKey1.0` */
  readonly value?: string;
  /** License server URL players should use (`dashif:Laurl`), when the system signals one. */
  readonly licenseUrl?: string;
  /** The `pssh` box, base64, for a `cenc:pssh` child element. */
  readonly psshBase64?: string;
}

/** HLS `EXT-X-KEY` attributes of one DRM system (RFC 8216bis 4.4.4.4). */
export interface HlsKeySignalling {
  /** `SAMPLE-AES` for `cbcs` fMP4. */
  readonly method: 'SAMPLE-AES' | 'SAMPLE-AES-CTR';
  readonly uri: string;
  readonly keyFormat: string;
  readonly keyFormatVersions: string;
}

/** What one DRM system needs signalled for some content. */
export interface DrmSystemSignalling {
  /** The DRM system id (a UUID, as in `pssh` and `urn:uuid:`). */
  readonly systemId: string;
  /** A complete `pssh` box for init sections, when the system uses one (FairPlay does not). */
  readonly pssh?: Buffer;
  readonly dash: DashContentProtection;
  /** Undefined when the system is not played through HLS. */
  readonly hls?: HlsKeySignalling;
}

export interface ContentKey {
  /** 16 bytes: the KID written in `tenc` and `pssh`. */
  readonly keyId: Buffer;
  /** 16 bytes of AES-128 key. */
  readonly key: Buffer;
}

/** A packager's request (SPEKE: content id, key ids, DRM system ids). */
export interface ContentKeyRequest {
  /** What is being packaged (the locator, for livestack): providers that key per content use it. */
  readonly contentId: string;
  /** 16 bytes each. */
  readonly keyIds: readonly Buffer[];
  /** DRM systems to signal, by system id; each must be one of the provider's `systemIds`. */
  readonly systemIds: readonly string[];
}

export interface ContentKeyResponse {
  /** One key per requested key id, in request order. */
  readonly keys: readonly ContentKey[];
  /** One entry per requested system id, in request order. */
  readonly systems: readonly DrmSystemSignalling[];
}

/** Where packagers get content keys and DRM signalling from. */
export interface KeyProvider {
  /** For messages: e.g. `clearkey`. */
  readonly name: string;
  /** DRM systems this provider can signal. */
  readonly systemIds: readonly string[];
  /** Keys and signalling; rejects with `KeyProviderError` when it cannot provide them. */
  provide(request: ContentKeyRequest): Promise<ContentKeyResponse>;
}

/** A request a provider cannot serve (unknown system, bad key id...): the message says which and why. */
export class KeyProviderError extends Error {}
