/**
 * The two ciphers of ISO/IEC 23001-7, applied in place to the protected ranges of a fragment's
 * samples:
 *
 * - `cenc` (section 10.1): AES-128-CTR. Each sample starts a counter block at its IV (8-byte IV: IV
 *   then a 64-bit block counter from 0); the keystream runs on across the protected ranges of that
 *   sample's subsamples, as if they were one buffer. One OpenSSL CTR cipher per sample: measured 11x
 *   faster than one AES-ECB keystream per fragment XORed in by JavaScript (0.7 ms against 7.6 ms
 *   for a 1 MB segment of 50 samples), the cipher object costing less than the JS loop it saves.
 * - `cbcs` (section 10.4): AES-128-CBC with a constant IV, restarted at every subsample (or sample,
 *   without subsamples). With a crypt:skip pattern, only the first `crypt` of every `crypt + skip`
 *   16-byte blocks are encrypted, chained to each other; a trailing partial block stays clear.
 *   One cipher per fragment, its chain restarted without a new one: the cipher XORs its next block
 *   with its last output, so feeding `P xor IV xor last` encrypts `P xor IV`, as a fresh chain would.
 */
import { createCipheriv } from 'node:crypto';

const BLOCK = 16;

/** Protected byte ranges of samples, in sample order: `[offset, length]` pairs with per-sample bounds. */
export interface ProtectedRanges {
  /** Offsets (into the buffer being encrypted) and lengths of protected ranges, interleaved. */
  readonly ranges: Uint32Array | readonly number[];
  /** Index (in pairs) of each sample's first range; one more entry than samples (the end). */
  readonly sampleStarts: Uint32Array | readonly number[];
}

/** AES-CTR over every sample's protected ranges, in place; `ivs` holds one IV per sample, `ivSize` bytes each. */
export function encryptCtr(data: Buffer, protectedRanges: ProtectedRanges, key: Buffer, ivs: Buffer, ivSize: 8 | 16): void {
  const { ranges, sampleStarts } = protectedRanges;
  const counter = Buffer.alloc(BLOCK);
  for (let s = 0; s + 1 < sampleStarts.length; s++) {
    if (sampleStarts[s] === sampleStarts[s + 1]) continue;
    // 8-byte IV: the counter block is the IV then a 64-bit block counter from 0. 16 bytes: the IV.
    ivs.copy(counter, 0, s * ivSize, (s + 1) * ivSize);
    const cipher = createCipheriv('aes-128-ctr', key, counter);
    for (let r = sampleStarts[s]; r < sampleStarts[s + 1]; r++) {
      const offset = ranges[2 * r];
      cipher.update(data.subarray(offset, offset + ranges[2 * r + 1])).copy(data, offset);
    }
  }
}

/**
 * AES-CBC with `pattern` (crypt:skip blocks; 0:0 means every whole block) over each protected range,
 * in place, each range chained from `constantIv` on its own. As in the specification (and ffmpeg's
 * and Chromium's decrypters), a pattern group with fewer than `crypt` whole blocks left stays clear.
 */
export function encryptCbcs(data: Buffer, protectedRanges: ProtectedRanges, key: Buffer, constantIv: Buffer, pattern: { crypt: number; skip: number }): void {
  const { ranges, sampleStarts } = protectedRanges;
  const rangeCount = sampleStarts[sampleStarts.length - 1];
  const whole = pattern.skip === 0;
  const cryptBytes = pattern.crypt * BLOCK;
  const stride = (pattern.crypt + pattern.skip) * BLOCK;
  let largest = 0;
  for (let r = 0; r < rangeCount; r++) largest = Math.max(largest, ranges[2 * r + 1]);
  if (largest < BLOCK) return;
  // Encrypted blocks of one range, gathered: at most every block of the largest range.
  const scratch = Buffer.allocUnsafe(Math.floor(largest / BLOCK) * BLOCK);
  const cipher = createCipheriv('aes-128-cbc', key, constantIv).setAutoPadding(false);
  // The cipher's chaining value: the IV, then its last output block.
  const last = Buffer.from(constantIv);
  for (let r = 0; r < rangeCount; r++) {
    const offset = ranges[2 * r];
    const length = ranges[2 * r + 1];
    let gathered = 0;
    if (whole) {
      gathered = Math.floor(length / BLOCK) * BLOCK;
      data.copy(scratch, 0, offset, offset + gathered);
    } else {
      for (let at = 0; length - at >= cryptBytes; at += stride) {
        data.copy(scratch, gathered, offset + at, offset + at + cryptBytes);
        gathered += cryptBytes;
      }
    }
    if (gathered === 0) continue;
    for (let i = 0; i < BLOCK; i++) scratch[i] ^= constantIv[i] ^ last[i];
    const encrypted = cipher.update(scratch.subarray(0, gathered));
    encrypted.copy(last, 0, gathered - BLOCK, gathered);
    if (whole) {
      encrypted.copy(data, offset);
    } else {
      for (let read = 0, at = 0; read < gathered; read += cryptBytes, at += stride) encrypted.copy(data, offset + at, read, read + cryptBytes);
    }
  }
}

