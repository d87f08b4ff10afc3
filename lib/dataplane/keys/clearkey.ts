/**
 * ClearKey (W3C Encrypted Media Extensions, section 9.1): the DRM system every EME browser has, with
 * the content key handed to the player in a JSON Web Key set. Two halves:
 *
 * - the license exchange the key service answers: `{"kids":["<base64url KID>"],"type":"temporary"}`
 *   in, `{"keys":[{"kty":"oct","kid":"<base64url>","k":"<base64url key>"}],"type":"temporary"}` out
 *   (section 9.1.3 and 9.1.4; base64url without padding);
 * - `ClearKeyProvider`, the `KeyProvider` the packager asks for keys and signalling: keys from the
 *   account's content key store (the same per-locator keys as AES-128 envelope), the common-system
 *   `pssh` (what EME passes as `cenc` init data), the DASH `ContentProtection` with the license URL,
 *   and the HLS `EXT-X-KEY` attributes hls.js reads (`KEYFORMAT="org.w3.clearkey"`).
 */
import { commonPsshBox, COMMON_SYSTEM_ID } from '../mp4/pssh';
import { readOrCreateContentKey } from './content-key-store';
import {
  ContentKey, ContentKeyRequest, ContentKeyResponse, DrmSystemSignalling, KeyProvider, KeyProviderError,
} from './key-provider';

/** The ClearKey system id (DASH-IF registry; `urn:uuid:e2719d58-...` in MPDs). */
export const CLEARKEY_SYSTEM_ID = 'e2719d58-a985-b3c9-781a-b030af78d30e';
/** Where players POST ClearKey license requests on the key service (the license URL signalled in MPDs and to hls.js). */
export const CLEARKEY_PATH = '/clearkey';
/** What a player's license request may hold: a few key ids, not a flood. */
export const CLEARKEY_MAX_KIDS = 32;
export const CLEARKEY_MAX_REQUEST_BYTES = 4096;

/** A malformed license request (answered 400 with this message). */
export class LicenseRequestError extends Error {}

export interface LicenseRequest {
  /** Requested key ids as 32 lower-case hex digits (the content key store's ids), without duplicates. */
  readonly keyIds: readonly string[];
}

/** Parses a ClearKey license request body. Throws `LicenseRequestError` saying what is wrong and what is allowed. */
export function parseLicenseRequest(body: Buffer): LicenseRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new LicenseRequestError('the license request is not JSON; expected {"kids":["<base64url key id>"],"type":"temporary"}');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new LicenseRequestError('the license request is not a JSON object');
  const { kids, type } = parsed as { kids?: unknown; type?: unknown };
  if (type !== undefined && type !== 'temporary') {
    throw new LicenseRequestError(`license type ${JSON.stringify(type)} is not offered; allowed: "temporary"`);
  }
  if (!Array.isArray(kids) || kids.length === 0) throw new LicenseRequestError('"kids" must be a non-empty array of base64url key ids');
  if (kids.length > CLEARKEY_MAX_KIDS) throw new LicenseRequestError(`"kids" lists ${kids.length} key ids; at most ${CLEARKEY_MAX_KIDS} are allowed`);
  const keyIds = kids.map((kid, index) => {
    if (typeof kid !== 'string' || !/^[A-Za-z0-9_-]{22}={0,2}$/.test(kid)) {
      throw new LicenseRequestError(`kids[${index}] is not a base64url 16-byte key id`);
    }
    return Buffer.from(kid.replace(/=+$/, ''), 'base64url').toString('hex');
  });
  return { keyIds: [...new Set(keyIds)] };
}

/** The license response body for `keys` (key id hex -> key bytes). */
export function licenseResponse(keys: ReadonlyMap<string, Buffer>): Buffer {
  const jwks = [...keys].map(([keyId, key]) => ({
    kty: 'oct',
    kid: Buffer.from(keyId, 'hex').toString('base64url'),
    k: key.toString('base64url'),
  }));
  return Buffer.from(JSON.stringify({ keys: jwks, type: 'temporary' }));
}

export interface ClearKeyProviderOptions {
  /** The account storage holding the content keys. */
  readonly storageDir: string;
  /** Where players send license requests: the key service's `/clearkey` URL as players reach it. */
  readonly licenseUrl: string;
}

/**
 * ClearKey as a `KeyProvider`. Signals `CLEARKEY_SYSTEM_ID` (the ClearKey `ContentProtection` with
 * its license URL, no pssh) and `COMMON_SYSTEM_ID` (the common `ContentProtection` with the common
 * `pssh`); the init section carries the common `pssh`, which is all a ClearKey CDM needs.
 */
export class ClearKeyProvider implements KeyProvider {
  readonly name = 'clearkey';
  readonly systemIds = [CLEARKEY_SYSTEM_ID, COMMON_SYSTEM_ID] as const;

  constructor(private readonly options: ClearKeyProviderOptions) {}

  async provide(request: ContentKeyRequest): Promise<ContentKeyResponse> {
    if (request.keyIds.length === 0) throw new KeyProviderError(`${this.name}: no key ids asked for (content ${request.contentId})`);
    for (const kid of request.keyIds) {
      if (kid.length !== 16) throw new KeyProviderError(`${this.name}: key id of ${kid.length} bytes asked for (content ${request.contentId}); a KID is 16`);
    }
    const keys: ContentKey[] = request.keyIds.map((keyId) => ({ keyId: Buffer.from(keyId), key: readOrCreateContentKey(this.options.storageDir, keyId.toString('hex')) }));
    const pssh = commonPsshBox(request.keyIds);
    const systems = request.systemIds.map((systemId): DrmSystemSignalling => {
      switch (systemId.toLowerCase()) {
        case CLEARKEY_SYSTEM_ID:
          return {
            systemId: CLEARKEY_SYSTEM_ID,
            pssh,
            // No cenc:pssh here: dash.js 5 takes this element's pssh as its ClearKey init data and hands
            // it to EME as 'keyids' (Chromium: TypeError, no license request); without one it builds
            // {"kids":[default_KID]} itself. The common pssh stays in the init section (and under
            // COMMON_SYSTEM_ID when asked), where EME's 'cenc' init data comes from.
            dash: { schemeIdUri: `urn:uuid:${CLEARKEY_SYSTEM_ID}`, value: 'ClearKey1.0', licenseUrl: this.options.licenseUrl },
            hls: {
              method: 'SAMPLE-AES',
              // hls.js takes the key id from the first 16 bytes of a data URI for org.w3.clearkey.
              uri: `data:text/plain;base64,${request.keyIds[0].toString('base64')}`,
              keyFormat: 'org.w3.clearkey',
              keyFormatVersions: '1',
            },
          };
        case COMMON_SYSTEM_ID:
          return { systemId: COMMON_SYSTEM_ID, pssh, dash: { schemeIdUri: `urn:uuid:${COMMON_SYSTEM_ID}`, psshBase64: pssh.toString('base64') } };
        default:
          throw new KeyProviderError(`${this.name}: DRM system ${systemId} is not provided; allowed: ${this.systemIds.join(', ')} (ClearKey, common)`);
      }
    });
    return { keys, systems };
  }
}
