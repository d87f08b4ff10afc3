/**
 * Protection system specific header boxes (`pssh`, ISO/IEC 23001-7 section 8.1): a DRM system's id
 * and its data, carried in init sections (and in MPD `cenc:pssh` elements) so players find the key
 * ids and can start a license request before the first media segment.
 */
import { fullBox, Mp4Error, u32 } from './box-rewrite';

/**
 * The W3C "common" system id (https://www.w3.org/TR/eme-initdata-cenc/): a version 1 `pssh` with
 * only key ids, which every EME browser reads as the ClearKey init data.
 */
export const COMMON_SYSTEM_ID = '1077efec-c0b2-4d02-ace3-3c1e52e2fb4b';

/** A `pssh` box: version 1 with `keyIds` when given (and non-empty), else version 0. */
export function psshBox(systemId: string, keyIds: readonly Buffer[], data: Buffer = Buffer.alloc(0)): Buffer {
  const id = uuidBytes(systemId);
  for (const kid of keyIds) if (kid.length !== 16) throw new Mp4Error(`pssh: key id of ${kid.length} bytes; a KID is 16`);
  if (keyIds.length === 0) return fullBox('pssh', 0, 0, id, u32(data.length), data);
  return fullBox('pssh', 1, 0, id, u32(keyIds.length), ...keyIds, u32(data.length), data);
}

/** The common-system `pssh` (version 1, the key ids, no data) that ClearKey players read. */
export function commonPsshBox(keyIds: readonly Buffer[]): Buffer {
  if (keyIds.length === 0) throw new Mp4Error('pssh: the common system pssh needs at least one key id');
  return psshBox(COMMON_SYSTEM_ID, keyIds);
}

/** 16 bytes of a UUID written with or without dashes. */
export function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Mp4Error(`system id ${JSON.stringify(uuid)} is not a UUID`);
  return Buffer.from(hex, 'hex');
}
