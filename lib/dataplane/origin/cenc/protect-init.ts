/**
 * The protected init section of a CMAF track (ISO/IEC 23001-7 section 8, ISO/IEC 14496-12 8.12):
 * the clear sample entry (`avc1`/`avc3`, `mp4a`) becomes `encv`/`enca` with a `sinf` box appended —
 * `frma` (the original format), `schm` (`cenc` or `cbcs`, version 1.0) and `schi`/`tenc` (default
 * KID; per-sample IV size, or a constant IV; crypt:skip pattern) — and the given `pssh` boxes go at
 * the end of `moov`. Every enclosing box (entry, stsd, stbl, minf, mdia, trak, moov) grows by what
 * went into it; nothing else moves or changes.
 *
 * Also returns the `ProtectedTrack` that `protectFragment` needs for the track's media segments.
 */
import {
  box, BoxRef, children, fourCc, fullBox, fullBoxHeader, Insertion, Mp4Error, requireChild, spliceBoxes, topLevel, u32, u8,
} from '../../mp4/box-rewrite';
import { H264Error, H264ParameterSets } from './h264-slice-header';
import { CencError, CencScheme, Pattern, patternFor, tencVersion, TrackKind } from './scheme';

/** How to protect a track. */
export interface TrackProtection {
  readonly scheme: CencScheme;
  /** The default KID (16 bytes): the content key's id, as players ask the license server for it. */
  readonly keyId: Buffer;
  /** Complete `pssh` boxes for the DRM systems that may play the content (see `commonPsshBox`). */
  readonly psshBoxes: readonly Buffer[];
  /** `cenc` only: bytes of each sample's IV. @default 8 */
  readonly perSampleIvSize?: 8 | 16;
  /** `cbcs` only (required): the track's 16-byte constant IV. */
  readonly constantIv?: Buffer;
}

/** Everything about a protected track that its media segments need; made by `protectInit`. */
export interface ProtectedTrack {
  readonly scheme: CencScheme;
  readonly kind: TrackKind;
  readonly trackId: number;
  readonly keyId: Buffer;
  /** 8 or 16 for `cenc`, 0 for `cbcs` (constant IV). */
  readonly perSampleIvSize: 0 | 8 | 16;
  readonly constantIv?: Buffer;
  readonly pattern: Pattern;
  /** Size of the NAL unit length fields of video samples (`avcC` lengthSizeMinusOne + 1); 0 for audio. */
  readonly nalLengthSize: number;
  /** Parameter sets of the `avcC` (video), the starting point of every fragment's slice header parsing. */
  readonly parameterSets?: H264ParameterSets;
  /** Sample size from `trex`, for fragments whose `trun` and `tfhd` leave it out (0 when not given). */
  readonly defaultSampleSize: number;
}

const VIDEO_ENTRIES = new Set(['avc1', 'avc3']);
const AUDIO_ENTRIES = new Set(['mp4a']);
/** Bytes of a VisualSampleEntry before its child boxes (ISO/IEC 14496-12 12.1.3). */
const VISUAL_ENTRY_FIELDS = 78;
/** Bytes of an AudioSampleEntry (version 0) before its child boxes (12.2.3); QuickTime versions 1 and 2 add 16 and 36. */
const AUDIO_ENTRY_FIELDS = [28, 44, 64];

/**
 * The protected init section and its track. Throws `CencError` (naming `where`) for an init section
 * that is not one H.264 or AAC track, is already protected, or is malformed.
 */
export function protectInit(clearInit: Buffer, protection: TrackProtection, where: string): { init: Buffer; track: ProtectedTrack } {
  try {
    return protect(clearInit, checked(protection, where), where);
  } catch (error) {
    if (error instanceof Mp4Error || error instanceof H264Error) throw new CencError(`${where}: ${error.message.replace(`${where}: `, '')}`);
    throw error;
  }
}

function checked(protection: TrackProtection, where: string): TrackProtection {
  if (protection.keyId.length !== 16) throw new CencError(`${where}: key id has ${protection.keyId.length} bytes; a KID is 16`);
  if (protection.scheme === 'cenc') {
    if (protection.constantIv) throw new CencError(`${where}: cenc uses per-sample IVs; a constant IV is for cbcs`);
    if (protection.perSampleIvSize !== undefined && protection.perSampleIvSize !== 8 && protection.perSampleIvSize !== 16) {
      throw new CencError(`${where}: per-sample IV size ${String(protection.perSampleIvSize)}; allowed: 8 or 16`);
    }
  } else if (protection.scheme === 'cbcs') {
    if (!protection.constantIv || protection.constantIv.length !== 16) {
      throw new CencError(`${where}: cbcs needs a 16-byte constant IV, got ${protection.constantIv ? `${protection.constantIv.length} bytes` : 'none'}`);
    }
    if (protection.perSampleIvSize !== undefined) throw new CencError(`${where}: cbcs uses a constant IV; per-sample IVs are for cenc`);
  } else {
    throw new CencError(`${where}: protection scheme ${JSON.stringify(protection.scheme)}; allowed: cenc, cbcs`);
  }
  for (const pssh of protection.psshBoxes) {
    if (pssh.length < 32 || pssh.readUInt32BE(0) !== pssh.length || pssh.toString('latin1', 4, 8) !== 'pssh') {
      throw new CencError(`${where}: a pssh box given to protect the init section is not one complete pssh box`);
    }
  }
  return protection;
}

function protect(init: Buffer, protection: TrackProtection, where: string): { init: Buffer; track: ProtectedTrack } {
  const file = topLevel(init);
  const moov = requireChild(init, file, 'moov', where);
  const traks = children(init, moov, where).filter((b) => b.type === 'trak');
  if (traks.length !== 1) throw new CencError(`${where}: the init section has ${traks.length} tracks; a CMAF track file has exactly 1`);
  const trak = traks[0];
  const trackId = readTrackId(init, requireChild(init, trak, 'tkhd', where), where);
  const mdia = requireChild(init, trak, 'mdia', where);
  const minf = requireChild(init, mdia, 'minf', where);
  const stbl = requireChild(init, minf, 'stbl', where);
  const stsd = requireChild(init, stbl, 'stsd', where);
  const entries = children(init, stsd, where, 8);
  if (entries.length === 0) throw new CencError(`${where}: empty sample description (stsd)`);

  let kind: TrackKind | undefined;
  let nalLengthSize = 0;
  let parameterSets: H264ParameterSets | undefined;
  const insertions: Insertion[] = [];
  const renamed: { ref: BoxRef; type: string }[] = [];
  for (const entry of entries) {
    const entryKind = kindOf(entry.type, where);
    if (kind && entryKind !== kind) throw new CencError(`${where}: sample entries of different media types in one track`);
    kind = entryKind;
    if (entryKind === 'video') {
      const avc = readAvcC(init, entry, where);
      nalLengthSize = avc.nalLengthSize;
      parameterSets = avc.parameterSets;
    } else {
      audioChildrenStart(init, entry, where);
    }
    insertions.push({ at: entry.end, bytes: sinf(entry.type, protection, entryKind), into: [entry, stsd, stbl, minf, mdia, trak, moov] });
    renamed.push({ ref: entry, type: entryKind === 'video' ? 'encv' : 'enca' });
  }
  if (protection.psshBoxes.length > 0) insertions.push({ at: moov.end, bytes: Buffer.concat(protection.psshBoxes), into: [moov] });

  const track: ProtectedTrack = {
    scheme: protection.scheme,
    kind: kind as TrackKind,
    trackId,
    keyId: Buffer.from(protection.keyId),
    perSampleIvSize: protection.scheme === 'cbcs' ? 0 : protection.perSampleIvSize ?? 8,
    constantIv: protection.constantIv ? Buffer.from(protection.constantIv) : undefined,
    pattern: patternFor(protection.scheme, kind as TrackKind),
    nalLengthSize,
    parameterSets,
    defaultSampleSize: trexSampleSize(init, moov, trackId, where),
  };
  return { init: spliceBoxes(init, insertions, renamed), track };
}

function kindOf(type: string, where: string): TrackKind {
  if (VIDEO_ENTRIES.has(type)) return 'video';
  if (AUDIO_ENTRIES.has(type)) return 'audio';
  if (type === 'encv' || type === 'enca') throw new CencError(`${where}: the init section is already protected (sample entry "${type}")`);
  throw new CencError(`${where}: sample entry "${type}" cannot be protected; supported: avc1, avc3 (H.264) and mp4a (AAC)`);
}

/** `sinf` for an entry of original format `format`. */
function sinf(format: string, protection: TrackProtection, kind: TrackKind): Buffer {
  const version = tencVersion(protection.scheme);
  const pattern = patternFor(protection.scheme, kind);
  const constant = protection.scheme === 'cbcs';
  const tenc = fullBox(
    'tenc', version, 0,
    u8(0), // reserved
    u8(version === 1 ? (pattern.crypt << 4) | pattern.skip : 0),
    u8(1), // default_isProtected
    u8(constant ? 0 : protection.perSampleIvSize ?? 8),
    protection.keyId,
    ...(constant ? [u8(16), protection.constantIv as Buffer] : []),
  );
  return box(
    'sinf',
    box('frma', fourCc(format)),
    fullBox('schm', 0, 0, fourCc(protection.scheme), u32(0x00010000)),
    box('schi', tenc),
  );
}

function readTrackId(data: Buffer, tkhd: BoxRef, where: string): number {
  const { version } = fullBoxHeader(data, tkhd, where);
  const at = tkhd.bodyStart + (version === 1 ? 20 : 12);
  if (at + 4 > tkhd.end) throw new CencError(`${where}: truncated tkhd`);
  return data.readUInt32BE(at);
}

function readAvcC(data: Buffer, entry: BoxRef, where: string): { nalLengthSize: number; parameterSets: H264ParameterSets } {
  if (entry.end - entry.bodyStart < VISUAL_ENTRY_FIELDS) throw new CencError(`${where}: truncated ${entry.type} sample entry`);
  const avcC = children(data, entry, where, VISUAL_ENTRY_FIELDS).find((b) => b.type === 'avcC');
  if (!avcC) throw new CencError(`${where}: no avcC box in the ${entry.type} sample entry`);
  const at = avcC.bodyStart;
  const end = avcC.end;
  if (end - at < 7) throw new CencError(`${where}: truncated avcC`);
  const nalLengthSize = (data[at + 4] & 3) + 1;
  if (nalLengthSize === 3) throw new CencError(`${where}: avcC declares 3-byte NAL unit lengths; allowed: 1, 2 or 4`);
  const parameterSets = new H264ParameterSets();
  let offset = at + 5;
  const readSets = (count: number) => {
    for (let n = 0; n < count; n++) {
      if (offset + 2 > end) throw new CencError(`${where}: truncated avcC`);
      const length = data.readUInt16BE(offset);
      offset += 2;
      if (length === 0 || offset + length > end) throw new CencError(`${where}: parameter set of ${length} bytes overruns avcC`);
      parameterSets.add(data, offset, offset + length);
      offset += length;
    }
  };
  readSets(data[offset++] & 0x1f); // numOfSequenceParameterSets, then the SPS
  if (offset >= end) throw new CencError(`${where}: truncated avcC`);
  readSets(data[offset++]); // numOfPictureParameterSets, then the PPS
  return { nalLengthSize, parameterSets };
}

/** Where an audio entry's child boxes start (checked: the fields before them must be there). */
function audioChildrenStart(data: Buffer, entry: BoxRef, where: string): number {
  if (entry.end - entry.bodyStart < 28) throw new CencError(`${where}: truncated ${entry.type} sample entry`);
  const version = data.readUInt16BE(entry.bodyStart + 8);
  const fields = AUDIO_ENTRY_FIELDS[version];
  if (fields === undefined || entry.end - entry.bodyStart < fields) throw new CencError(`${where}: ${entry.type} sample entry version ${version} is not supported`);
  return entry.bodyStart + fields;
}

function trexSampleSize(data: Buffer, moov: BoxRef, trackId: number, where: string): number {
  const mvex = children(data, moov, where).find((b) => b.type === 'mvex');
  if (!mvex) throw new CencError(`${where}: no mvex box: the init section is not for fragmented MP4`);
  for (const trex of children(data, mvex, where).filter((b) => b.type === 'trex')) {
    if (trex.end - trex.bodyStart < 24) throw new CencError(`${where}: truncated trex`);
    if (data.readUInt32BE(trex.bodyStart + 4) === trackId) return data.readUInt32BE(trex.bodyStart + 16);
  }
  throw new CencError(`${where}: no trex for track ${trackId}`);
}
