/**
 * IVs derived, like the envelope IVs (segment-crypto.ts), from the key id and the file's place in
 * the asset: a segment always encrypts to the same bytes (cacheable; every origin replica agrees)
 * while no two segments of any rendition under one key share IVs.
 */
import { createHash } from 'node:crypto';

/**
 * The IV of the first sample of segment `file` of `rendition` (`cenc`). 8 bytes: the following
 * samples take the next values, and a collision between two segments' runs is a 64-bit birthday
 * event. 16 bytes: the top bit of the low half is cleared, so the 128-bit counter never carries out
 * of the low 64 bits within a segment (decrypters that only count in the low half agree).
 */
export function fragmentIv(keyId: string, rendition: string, file: string, size: 8 | 16): Buffer {
  const iv = createHash('sha256').update(`livestack cenc iv:${keyId}:${rendition}/${file}`).digest().subarray(0, size);
  if (size === 16) iv[8] &= 0x7f;
  return Buffer.from(iv);
}

/** The constant IV of `rendition` under `keyId` (`cbcs`: one per track, written in its `tenc`). */
export function trackConstantIv(keyId: string, rendition: string): Buffer {
  return Buffer.from(createHash('sha256').update(`livestack cbcs iv:${keyId}:${rendition}`).digest().subarray(0, 16));
}
