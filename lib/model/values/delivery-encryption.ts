import { IConstruct } from 'constructs';

/** What DeliveryEncryption needs of a key policy (implemented by the KeyPolicy construct). */
export interface IKeyPolicy extends IConstruct {
  /** The policy's name in its account. */
  readonly policyName: string;
  /** Construct path of the account the policy belongs to. */
  readonly accountPath: string;
}

/**
 * DRM systems players may get the content key of a common-encryption locator through. Only ClearKey
 * (W3C EME, every browser) is provided; a commercial DRM plugs into the key service's `KeyProvider`
 * interface (lib/dataplane/keys/key-provider.ts, see the README) and then gets its name here.
 */
export type KeySystem = 'clearkey';

export const KEY_SYSTEMS: readonly KeySystem[] = ['clearkey'];

/** Options of common encryption (`cenc` or `cbcs`). */
export interface CommonEncryptionOptions {
  /** DRM systems signalled to players (MPD ContentProtection, HLS KEYFORMAT). @default ['clearkey'] */
  readonly keySystems?: readonly KeySystem[];
}

export type EncryptionType = 'none' | 'envelope' | 'cenc' | 'cbcs';

/** How a delivery policy protects content on the way out. */
export class DeliveryEncryption {
  /** Clear content. */
  static none(): DeliveryEncryption { return new DeliveryEncryption('none', undefined, []); }

  /** HLS AES-128 envelope encryption; players fetch the content key under `keyPolicy`. HLS only. */
  static envelope(keyPolicy: IKeyPolicy): DeliveryEncryption { return new DeliveryEncryption('envelope', keyPolicy, []); }

  /**
   * Common encryption, `cenc` scheme (ISO/IEC 23001-7: AES-CTR on the samples, NAL headers clear):
   * DASH only (HLS players take `cbcs`). Players get the key as a ClearKey license under `keyPolicy`.
   */
  static cenc(keyPolicy: IKeyPolicy, options: CommonEncryptionOptions = {}): DeliveryEncryption {
    return new DeliveryEncryption('cenc', keyPolicy, options.keySystems ?? KEY_SYSTEMS);
  }

  /**
   * Common encryption, `cbcs` scheme (AES-CBC, 1:9 pattern on video, constant IV): DASH, and fMP4
   * HLS as `METHOD=SAMPLE-AES`. Players get the key as a ClearKey license under `keyPolicy`.
   */
  static cbcs(keyPolicy: IKeyPolicy, options: CommonEncryptionOptions = {}): DeliveryEncryption {
    return new DeliveryEncryption('cbcs', keyPolicy, options.keySystems ?? KEY_SYSTEMS);
  }

  private constructor(
    readonly type: EncryptionType,
    readonly keyPolicy: IKeyPolicy | undefined,
    /** DRM systems of common encryption ([] otherwise). */
    readonly keySystems: readonly KeySystem[],
  ) {}
}
