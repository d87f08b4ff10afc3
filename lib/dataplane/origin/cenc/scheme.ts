/**
 * The two protection schemes the packager writes (ISO/IEC 23001-7 section 10) and what each implies
 * for a track: the cipher, the IV (per sample or constant), and the crypt:skip pattern.
 */

/** `cenc`: AES-CTR, per-sample IVs (DASH). `cbcs`: AES-CBC, constant IV, 1:9 pattern on video (DASH, fMP4 HLS). */
export type CencScheme = 'cenc' | 'cbcs';

export const CENC_SCHEMES: readonly CencScheme[] = ['cenc', 'cbcs'];

/** Bad input to the packager: the message says where (file), what was found and what is allowed. */
export class CencError extends Error {}

export type TrackKind = 'video' | 'audio';

export interface Pattern {
  /** Encrypted 16-byte blocks of each group. */
  readonly crypt: number;
  /** Clear 16-byte blocks after them. */
  readonly skip: number;
}

/**
 * `cbcs` video uses 1:9 (section 10.4.1; Apple's HLS sample encryption and every cbcs player expect
 * it); other tracks, and `cenc`, use no pattern (0:0): whole-block full-sample encryption.
 */
export function patternFor(scheme: CencScheme, kind: TrackKind): Pattern {
  return scheme === 'cbcs' && kind === 'video' ? { crypt: 1, skip: 9 } : { crypt: 0, skip: 0 };
}

/** `tenc` version: 1 carries the pattern and is required for `cbcs` (section 8.2.2); `cenc` uses 0. */
export function tencVersion(scheme: CencScheme): 0 | 1 {
  return scheme === 'cbcs' ? 1 : 0;
}
