/**
 * The chunks of a CMAF segment that is still being written: each complete `moof` + `mdat` pair (a
 * fragment, one LL-HLS partial segment) with its byte range, media duration and whether it starts
 * with a sync sample. A ChunkScanner reads a growing file from where it stopped; a box cut short by the
 * writer is read again next time. Only box headers and the few timing fields are read.
 */
import * as fs from 'node:fs';
import { boxes } from './boxes';

export interface Chunk {
  /** Byte offset of the `moof` in the segment file. */
  readonly offset: number;
  /** Bytes of `moof` + `mdat`. */
  readonly length: number;
  /** Media duration, in the track's timescale. */
  readonly duration: number;
  /** Decode time of the first sample (`tfdt`), in the track's timescale. */
  readonly decodeTime: number;
  /** The first sample is a sync sample (a key frame): a player can start decoding here. */
  readonly independent: boolean;
}

/** sample_is_non_sync_sample in ISO/IEC 14496-12 sample flags. */
const NON_SYNC = 0x00010000;

interface MoofTiming {
  readonly duration: number;
  readonly decodeTime: number;
  readonly independent?: boolean;
}

/** Duration, decode time and sync flag of a `moof` body (its first `traf`). */
export function moofTiming(moof: Buffer): MoofTiming | undefined {
  const traf = boxes(moof).find((b) => b.type === 'traf')?.body;
  if (!traf) return undefined;
  const children = boxes(traf);
  const tfhd = children.find((b) => b.type === 'tfhd')?.body;
  const tfdt = children.find((b) => b.type === 'tfdt')?.body;
  if (!tfhd || tfhd.length < 8) return undefined;
  const tfhdFlags = tfhd.readUInt32BE(0) & 0xffffff;
  let at = 8;
  if (tfhdFlags & 0x01) at += 8;
  if (tfhdFlags & 0x02) at += 4;
  const defaultDuration = tfhdFlags & 0x08 && tfhd.length >= at + 4 ? tfhd.readUInt32BE(at) : 0;
  if (tfhdFlags & 0x08) at += 4;
  if (tfhdFlags & 0x10) at += 4;
  const defaultFlags = tfhdFlags & 0x20 && tfhd.length >= at + 4 ? tfhd.readUInt32BE(at) : undefined;
  const decodeTime = !tfdt || tfdt.length < 8 ? 0 : tfdt[0] === 1 && tfdt.length >= 12 ? Number(tfdt.readBigUInt64BE(4)) : tfdt.readUInt32BE(4);
  let duration = 0;
  let firstFlags: number | undefined;
  for (const trun of children.filter((b) => b.type === 'trun').map((b) => b.body)) {
    if (trun.length < 8) continue;
    const flags = trun.readUInt32BE(0) & 0xffffff;
    const count = trun.readUInt32BE(4);
    let offset = 8;
    if (flags & 0x01) offset += 4;
    let first: number | undefined;
    if (flags & 0x04) {
      first = trun.readUInt32BE(offset);
      offset += 4;
    }
    const perSample = ((flags & 0x100) ? 4 : 0) + ((flags & 0x200) ? 4 : 0) + ((flags & 0x400) ? 4 : 0) + ((flags & 0x800) ? 4 : 0);
    // Without per-sample fields every sample has the default duration (counted once, below).
    for (let i = 0; perSample > 0 && i < count && offset + perSample <= trun.length; i++) {
      let field = offset;
      duration += flags & 0x100 ? trun.readUInt32BE(field) : defaultDuration;
      if (flags & 0x100) field += 4;
      if (flags & 0x200) field += 4;
      if (i === 0 && first === undefined && flags & 0x400) first = trun.readUInt32BE(field);
      offset += perSample;
    }
    if (perSample === 0) duration += defaultDuration * count;
    firstFlags ??= first ?? defaultFlags;
  }
  return { duration, decodeTime, independent: firstFlags === undefined ? undefined : (firstFlags & NON_SYNC) === 0 };
}

/** Reads the complete chunks of one segment file as it grows. */
export class ChunkScanner {
  private offset = 0;
  private pending?: { offset: number; timing: MoofTiming };

  /** @param syncByDefault whether a fragment without sample flags starts with a sync sample (audio: yes) */
  constructor(private readonly syncByDefault: boolean) {}

  /** Bytes of the file consumed so far (complete boxes). */
  get consumed(): number {
    return this.offset;
  }

  /** The chunks completed since the last call, read through `fd` (an open segment file). */
  scan(fd: number): Chunk[] {
    const size = fs.fstatSync(fd).size;
    if (size <= this.offset) return [];
    const data = Buffer.alloc(size - this.offset);
    const read = fs.readSync(fd, data, 0, data.length, this.offset);
    return this.take(data.subarray(0, read));
  }

  /** The chunks completed in `data`, which continues the file at `consumed`. */
  take(data: Buffer): Chunk[] {
    const chunks: Chunk[] = [];
    let at = 0;
    for (const box of boxes(data)) {
      const size = box.headerSize === 16 ? Number(data.readBigUInt64BE(box.offset + 8)) : data.readUInt32BE(box.offset);
      // A box cut short (or sized "to the end of the file", which never ends while the file grows) waits for more bytes.
      if (size === 0 || box.offset + size > data.length) break;
      const fileOffset = this.offset + box.offset;
      if (box.type === 'moof') {
        const timing = moofTiming(box.body);
        this.pending = timing ? { offset: fileOffset, timing } : undefined;
      } else if (box.type === 'mdat' && this.pending) {
        const { offset, timing } = this.pending;
        chunks.push({
          offset,
          length: fileOffset + size - offset,
          duration: timing.duration,
          decodeTime: timing.decodeTime,
          independent: timing.independent ?? this.syncByDefault,
        });
        this.pending = undefined;
      }
      at = box.offset + size;
    }
    this.offset += at;
    return chunks;
  }
}
