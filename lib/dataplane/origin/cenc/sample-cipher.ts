/**
 * The two ciphers of ISO/IEC 23001-7, applied in place to the protected ranges of a fragment's
 * samples, with one OpenSSL call per fragment (cenc) or per subsample (cbcs) rather than one cipher
 * object per sample:
 *
 * - `cenc` (section 10.1): AES-128-CTR. Each sample starts a counter block at its IV (8-byte IV: IV
 *   then a 64-bit block counter from 0); the keystream runs on across the protected ranges of that
 *   sample's subsamples, as if they were one buffer. The keystream of the whole fragment is made by
 *   encrypting its counter blocks with AES-ECB in one call, then XORed in.
 * - `cbcs` (section 10.4): AES-128-CBC with a constant IV, restarted at every subsample (or sample,
 *   without subsamples). With a crypt:skip pattern, only the first `crypt` of every `crypt + skip`
 *   16-byte blocks are encrypted, chained to each other; a trailing partial block stays clear.
 *   Restarting the chain without a new cipher: the cipher's next block is XORed with its last output,
 *   so feeding `P xor IV xor last` encrypts `P xor IV`, which is what a fresh chain would do.
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
  const samples = sampleStarts.length - 1;
  let totalBlocks = 0;
  for (let s = 0; s < samples; s++) totalBlocks += Math.ceil(protectedLength(ranges, sampleStarts[s], sampleStarts[s + 1]) / BLOCK);
  if (totalBlocks === 0) return;
  const counters = Buffer.alloc(totalBlocks * BLOCK);
  let block = 0;
  for (let s = 0; s < samples; s++) {
    const blocks = Math.ceil(protectedLength(ranges, sampleStarts[s], sampleStarts[s + 1]) / BLOCK);
    const iv = s * ivSize;
    for (let b = 0; b < blocks; b++, block++) {
      const at = block * BLOCK;
      if (ivSize === 8) {
        ivs.copy(counters, at, iv, iv + 8);
        counters.writeUInt32BE(Math.floor(b / 0x100000000), at + 8);
        counters.writeUInt32BE(b >>> 0, at + 12);
      } else {
        // 128-bit counter: callers keep the low 64 bits far from overflow (see fragmentIvs).
        ivs.copy(counters, at, iv, iv + 16);
        const low = counters.readBigUInt64BE(at + 8) + BigInt(b);
        counters.writeBigUInt64BE(low, at + 8);
      }
    }
  }
  const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  const keystream = cipher.update(counters);
  let k = 0;
  for (let s = 0; s < samples; s++) {
    for (let r = sampleStarts[s]; r < sampleStarts[s + 1]; r++) {
      const offset = ranges[2 * r];
      const end = offset + ranges[2 * r + 1];
      for (let i = offset; i < end; i++) data[i] ^= keystream[k++];
    }
    // The next sample's counter starts on a fresh block.
    k = Math.ceil(k / BLOCK) * BLOCK;
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

function protectedLength(ranges: Uint32Array | readonly number[], from: number, to: number): number {
  let total = 0;
  for (let r = from; r < to; r++) total += ranges[2 * r + 1];
  return total;
}
