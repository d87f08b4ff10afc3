/**
 * HLS envelope encryption (RFC 8216 METHOD=AES-128): a whole file, AES-128-CBC with PKCS#7 padding.
 * The IV is derived from the key id and the file's path in the asset, so a file always encrypts to the
 * same bytes (cacheable, and any replica agrees) while no two files share an IV.
 */
import { createCipheriv, createHash } from 'node:crypto';

export function segmentIv(keyId: string, rendition: string, file: string): Buffer {
  return createHash('sha256').update(`livestack iv:${keyId}:${rendition}/${file}`).digest().subarray(0, 16);
}

/** `0x` + 32 hex digits, as EXT-X-KEY's IV attribute wants it. */
export function ivAttribute(iv: Buffer): string {
  return `0x${iv.toString('hex')}`;
}

export function encryptSegment(clear: Buffer, key: Buffer, iv: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([cipher.update(clear), cipher.final()]);
}
