/**
 * Protected media segments (ISO/IEC 23001-7 sections 7 and 9-10): every `moof`/`mdat` pair of a clear
 * CMAF segment gets its samples encrypted in place and its `traf` three more boxes at its end:
 *
 * - `saiz`: the size of each sample's auxiliary information (IV and subsample map);
 * - `saio`: one offset, from the start of the `moof` (the base of `default-base-is-moof`, and of the
 *   only `traf` otherwise), to that information, which is the body of:
 * - `senc`: per sample, its IV (`cenc`; none for `cbcs`, whose IV is constant) and, for video, its
 *   subsamples (clear bytes, protected bytes), as `h264-subsamples.ts` lays them out.
 *
 * The `moof` grows, so every `trun` data offset grows by as much, and a `sidx` in the segment gets
 * its referenced sizes recomputed. Sample bytes keep their size (CTR, and CBC on whole blocks only).
 * The output is written into one buffer; per-sample work uses typed arrays, not objects.
 */
import { BoxRef, boxesIn, children, fullBoxHeader, Mp4Error } from '../../mp4/box-rewrite';
import { H264Error, H264ParameterSets } from './h264-slice-header';
import { addH264Sample, SubsampleTable } from './h264-subsamples';
import { ProtectedTrack } from './protect-init';
import { encryptCbcs, encryptCtr } from './sample-cipher';
import { CencError } from './scheme';

export interface FragmentKeys {
  /** The 16-byte content key. */
  readonly key: Buffer;
  /**
   * `cenc` only: the IV of the segment's first sample (`track.perSampleIvSize` bytes); the next
   * samples take the next values (see `fragmentIv`). Must never repeat under one key.
   */
  readonly firstIv?: Buffer;
}

const TFHD = { baseDataOffset: 0x1, sampleDescriptionIndex: 0x2, defaultDuration: 0x8, defaultSize: 0x10 };
const TRUN = { dataOffset: 0x1, firstSampleFlags: 0x4, duration: 0x100, size: 0x200, flags: 0x400, compositionOffset: 0x800 };
const SENC_USE_SUBSAMPLES = 0x2;
/** Bytes of a full box's header: size, type, version and flags. */
const FULL_BOX_HEADER = 12;
const SAIO_SIZE = FULL_BOX_HEADER + 4 + 4;

/** One moof of the segment and what goes into it. */
interface FragmentPlan {
  readonly moof: BoxRef;
  readonly traf: BoxRef;
  /** Input offsets of the data_offset fields of the traf's truns (they grow with the moof). */
  readonly dataOffsetFields: readonly number[];
  /** Index of this fragment's first sample among all samples of the segment, and how many it has. */
  readonly firstSample: number;
  readonly samples: number;
  /** Size of each sample's auxiliary information when they are all equal, else 0 (saiz lists them). */
  readonly defaultInfoSize: number;
  readonly saizSize: number;
  readonly sencSize: number;
  /** saiz + saio + senc: how much the moof (and its traf) grows. */
  readonly growth: number;
}

/** Everything known about the segment's samples while it is planned. */
class SegmentSamples {
  readonly table = new SubsampleTable();
  readonly sizes: number[] = [];

  constructor(readonly track: ProtectedTrack, readonly sets = track.parameterSets?.clone()) {}

  /** Bytes of auxiliary information of sample `index`: its IV, then its subsample map (video). */
  infoSize(index: number): number {
    const entries = this.table.entryStarts[index + 1] - this.table.entryStarts[index];
    return this.track.perSampleIvSize + (this.track.kind === 'video' ? 2 + 6 * entries : 0);
  }
}

/**
 * The protected copy of a clear CMAF media segment of \`track\` (from \`protectInit\`). Throws
 * \`CencError\` naming \`where\` for a segment of another track, an already protected one, sample data
 * outside its \`mdat\`, or NAL units that do not parse.
 */
export function protectFragment(segment: Buffer, track: ProtectedTrack, keys: FragmentKeys, where: string): Buffer {
  if (keys.key.length !== 16) throw new CencError(`${where}: content key has ${keys.key.length} bytes; AES-128 needs 16`);
  if (track.perSampleIvSize > 0 && keys.firstIv?.length !== track.perSampleIvSize) {
    throw new CencError(`${where}: ${track.scheme} with ${track.perSampleIvSize}-byte IVs needs a first IV of that size, got ${keys.firstIv ? `${keys.firstIv.length} bytes` : 'none'}`);
  }
  try {
    return protect(segment, track, keys, where);
  } catch (error) {
    if (error instanceof Mp4Error || error instanceof H264Error) throw new CencError(`${where}: ${error.message.replace(`${where}: `, '')}`);
    throw error;
  }
}

function protect(segment: Buffer, track: ProtectedTrack, keys: FragmentKeys, where: string): Buffer {
  const top = boxesIn(segment, 0, segment.length, where);
  const samples = new SegmentSamples(track);
  const plans: FragmentPlan[] = [];
  let growth = 0;
  top.forEach((moof, i) => {
    if (moof.type !== 'moof') return;
    const mdat = top.slice(i + 1).find((b) => b.type === 'mdat' || b.type === 'moof');
    if (!mdat || mdat.type !== 'mdat') throw new CencError(`${where}: moof at offset ${moof.start} has no mdat after it`);
    const plan = planFragment(segment, moof, mdat, samples, growth, where);
    growth += plan.growth;
    plans.push(plan);
  });
  if (plans.length === 0) throw new CencError(`${where}: no moof box: not a media segment`);

  const ivs = track.perSampleIvSize > 0 ? sampleIvs(keys.firstIv as Buffer, samples) : undefined;
  const out = Buffer.allocUnsafe(segment.length + growth);
  let write = 0;
  let next = 0;
  for (const ref of top) {
    write = ref.type === 'moof'
      ? writeMoof(segment, plans[next++], samples, ivs, out, write)
      : write + segment.copy(out, write, ref.start, ref.end);
  }
  const moved = (position: number) => position + plans.filter((p) => p.moof.end <= position).reduce((sum, p) => sum + p.growth, 0);
  for (const ref of top) if (ref.type === 'sidx') patchSidx(segment, ref, out, moved, where);

  const ranges = { ranges: samples.table.ranges, sampleStarts: samples.table.rangeStarts };
  if (track.scheme === 'cenc') encryptCtr(out, ranges, keys.key, ivs as Buffer, track.perSampleIvSize as 8 | 16);
  else encryptCbcs(out, ranges, keys.key, track.constantIv as Buffer, track.pattern);
  return out;
}

/** Reads the fragment's samples, maps their subsamples and sizes what its traf gains. */
function planFragment(data: Buffer, moof: BoxRef, mdat: BoxRef, samples: SegmentSamples, growthBefore: number, where: string): FragmentPlan {
  const { track, table } = samples;
  const trafs = children(data, moof, where).filter((b) => b.type === 'traf');
  if (trafs.length !== 1) throw new CencError(`${where}: moof at offset ${moof.start} has ${trafs.length} track fragments; a CMAF fragment has exactly 1`);
  const traf = trafs[0];
  const boxes = children(data, traf, `${where} moof`);
  const protectedAlready = boxes.find((b) => b.type === 'senc' || b.type === 'saiz' || b.type === 'saio');
  if (protectedAlready) throw new CencError(`${where}: the segment is already protected (it has a ${protectedAlready.type} box)`);
  const tfhd = boxes.find((b) => b.type === 'tfhd');
  if (!tfhd || tfhd.end - tfhd.bodyStart < 8) throw new CencError(`${where}: traf without a complete tfhd`);
  const { flags: tfhdFlags } = fullBoxHeader(data, tfhd, where);
  const trackId = data.readUInt32BE(tfhd.bodyStart + 4);
  if (trackId !== track.trackId) throw new CencError(`${where}: fragment of track ${trackId}; the init section protected track ${track.trackId}`);
  if (tfhdFlags & TFHD.baseDataOffset) throw new CencError(`${where}: tfhd gives an absolute base-data-offset; only moof-relative sample offsets are supported`);
  let field = tfhd.bodyStart + 8;
  if (tfhdFlags & TFHD.sampleDescriptionIndex) field += 4;
  if (tfhdFlags & TFHD.defaultDuration) field += 4;
  const defaultSize = tfhdFlags & TFHD.defaultSize ? data.readUInt32BE(field) : track.defaultSampleSize;

  const firstSample = samples.sizes.length;
  const dataOffsetFields: number[] = [];
  // The first trun's samples start at its data offset from the moof; later truns without one follow on.
  let next = -1;
  for (const trun of boxes.filter((b) => b.type === 'trun')) {
    const { flags } = fullBoxHeader(data, trun, where);
    const count = data.readUInt32BE(trun.bodyStart + 4);
    let at = trun.bodyStart + 8;
    if (flags & TRUN.dataOffset) {
      dataOffsetFields.push(at);
      next = moof.start + data.readInt32BE(at);
      at += 4;
    } else if (next < 0) {
      throw new CencError(`${where}: the first trun has no data offset`);
    }
    if (flags & TRUN.firstSampleFlags) at += 4;
    const perSample = 4 * [TRUN.duration, TRUN.size, TRUN.flags, TRUN.compositionOffset].filter((f) => flags & f).length;
    if (at + count * perSample > trun.end) throw new CencError(`${where}: trun lists ${count} samples but is too short for them`);
    const sizeField = flags & TRUN.duration ? 4 : 0;
    for (let s = 0; s < count; s++, at += perSample) {
      const size = flags & TRUN.size ? data.readUInt32BE(at + sizeField) : defaultSize;
      if (next < mdat.bodyStart || next + size > mdat.end) {
        throw new CencError(`${where}: sample ${samples.sizes.length - firstSample} of the moof at ${moof.start} (bytes ${next}-${next + size}) lies outside its mdat (${mdat.bodyStart}-${mdat.end})`);
      }
      samples.sizes.push(size);
      if (track.kind === 'video') {
        addH264Sample(table, data, next, next + size, track.nalLengthSize, samples.sets as H264ParameterSets, track.scheme, growthBefore);
      } else {
        table.pushWhole(next + growthBefore, size);
      }
      next += size;
    }
  }
  const count = samples.sizes.length - firstSample;
  let defaultInfoSize = count > 0 ? samples.infoSize(firstSample) : 0;
  let infoBytes = 0;
  for (let s = firstSample; s < firstSample + count; s++) {
    const size = samples.infoSize(s);
    if (size > 255) throw new CencError(`${where}: sample ${s - firstSample} has ${(size - track.perSampleIvSize - 2) / 6} subsamples; saiz can describe at most ${Math.floor((255 - track.perSampleIvSize - 2) / 6)}`);
    if (size !== defaultInfoSize) defaultInfoSize = 0;
    infoBytes += size;
  }
  const saizSize = FULL_BOX_HEADER + 1 + 4 + (defaultInfoSize === 0 ? count : 0);
  const sencSize = FULL_BOX_HEADER + 4 + infoBytes;
  const growth = saizSize + SAIO_SIZE + sencSize;
  // Now that the moof's growth is known, this fragment's samples move by it too.
  for (let r = table.rangeStarts[firstSample]; r < table.rangeCount; r++) table.ranges[2 * r] += growth;
  return { moof, traf, dataOffsetFields, firstSample, samples: count, defaultInfoSize, saizSize, sencSize, growth };
}

/** Writes the grown moof at \`write\`; returns where it ends. */
function writeMoof(data: Buffer, plan: FragmentPlan, samples: SegmentSamples, ivs: Buffer | undefined, out: Buffer, write: number): number {
  const { moof, traf, growth } = plan;
  const moofStart = write;
  // Everything up to the end of the traf's children keeps its place relative to the moof.
  write += data.copy(out, write, moof.start, traf.end);
  growBox(out, moofStart, moof, growth);
  growBox(out, moofStart + (traf.start - moof.start), traf, growth);
  for (const field of plan.dataOffsetFields) {
    const at = moofStart + (field - moof.start);
    out.writeInt32BE(out.readInt32BE(at) + growth, at);
  }
  const { track, table } = samples;
  const last = plan.firstSample + plan.samples;

  // saiz: version 0, no aux_info_type (the track's scheme applies)
  write = fullBoxHeaderAt(out, write, plan.saizSize, 'saiz', 0, 0);
  out[write++] = plan.defaultInfoSize;
  write = out.writeUInt32BE(plan.samples, write);
  if (plan.defaultInfoSize === 0) for (let s = plan.firstSample; s < last; s++) out[write++] = samples.infoSize(s);

  // saio: one offset, from the moof's first byte to senc's first sample information
  write = fullBoxHeaderAt(out, write, SAIO_SIZE, 'saio', 0, 0);
  write = out.writeUInt32BE(1, write);
  const sencStart = write + 4;
  write = out.writeUInt32BE(sencStart + FULL_BOX_HEADER + 4 - moofStart, write);

  const subsamples = track.kind === 'video';
  write = fullBoxHeaderAt(out, write, plan.sencSize, 'senc', 0, subsamples ? SENC_USE_SUBSAMPLES : 0);
  write = out.writeUInt32BE(plan.samples, write);
  for (let s = plan.firstSample; s < last; s++) {
    if (ivs) write += ivs.copy(out, write, s * track.perSampleIvSize, (s + 1) * track.perSampleIvSize);
    if (!subsamples) continue;
    const from = table.entryStarts[s];
    const to = table.entryStarts[s + 1];
    write = out.writeUInt16BE(to - from, write);
    for (let e = from; e < to; e++) {
      write = out.writeUInt16BE(table.entries[2 * e], write);
      write = out.writeUInt32BE(table.entries[2 * e + 1], write);
    }
  }
  // Whatever followed the traf inside the moof.
  return write + data.copy(out, write, traf.end, moof.end);
}

function fullBoxHeaderAt(out: Buffer, at: number, size: number, type: string, version: number, flags: number): number {
  out.writeUInt32BE(size, at);
  out.write(type, at + 4, 4, 'latin1');
  out.writeUInt32BE(((version << 24) | flags) >>> 0, at + 8);
  return at + FULL_BOX_HEADER;
}

function growBox(out: Buffer, at: number, ref: BoxRef, growth: number): void {
  if (ref.bodyStart - ref.start === 16) out.writeBigUInt64BE(out.readBigUInt64BE(at + 8) + BigInt(growth), at + 8);
  else out.writeUInt32BE(out.readUInt32BE(at) + growth, at);
}

/**
 * Per-sample IVs: the first, then successive values. With 8-byte IVs each sample takes the next
 * value (its counter blocks follow the IV); with 16-byte IVs the IV is the whole counter block, so
 * the next sample starts past the blocks this one used (as Shaka Packager and Bento4 do).
 */
function sampleIvs(first: Buffer, samples: SegmentSamples): Buffer {
  const size = samples.track.perSampleIvSize;
  const count = samples.sizes.length;
  const ivs = Buffer.allocUnsafe(count * size);
  if (size === 8) {
    let value = first.readBigUInt64BE(0);
    for (let s = 0; s < count; s++, value = BigInt.asUintN(64, value + 1n)) ivs.writeBigUInt64BE(value, s * 8);
    return ivs;
  }
  let wide = (first.readBigUInt64BE(0) << 64n) | first.readBigUInt64BE(8);
  const { ranges, rangeStarts } = samples.table;
  for (let s = 0; s < count; s++) {
    ivs.writeBigUInt64BE(wide >> 64n, s * 16);
    ivs.writeBigUInt64BE(BigInt.asUintN(64, wide), s * 16 + 8);
    let bytes = 0;
    for (let r = rangeStarts[s]; r < rangeStarts[s + 1]; r++) bytes += ranges[2 * r + 1];
    // A sample with nothing protected still takes a value: IVs stay unique, as 8-byte ones are.
    wide = BigInt.asUintN(128, wide + BigInt(Math.max(1, Math.ceil(bytes / 16))));
  }
  return ivs;
}

/** Recomputes a sidx's offsets and referenced sizes for the grown moofs (ISO/IEC 14496-12 8.16.3). */
function patchSidx(data: Buffer, sidx: BoxRef, out: Buffer, moved: (position: number) => number, where: string): void {
  const { version } = fullBoxHeader(data, sidx, where);
  const firstOffsetField = sidx.bodyStart + (version === 0 ? 16 : 20);
  const countField = firstOffsetField + (version === 0 ? 4 : 8) + 2;
  if (countField + 2 > sidx.end) throw new CencError(`${where}: truncated sidx`);
  const firstOffset = version === 0 ? data.readUInt32BE(firstOffsetField) : Number(data.readBigUInt64BE(firstOffsetField));
  const count = data.readUInt16BE(countField);
  if (countField + 2 + 12 * count > sidx.end) throw new CencError(`${where}: sidx lists ${count} references but is too short for them`);
  const outSidx = moved(sidx.start);
  const anchor = sidx.end;
  let start = anchor + firstOffset;
  const newFirstOffset = moved(start) - moved(anchor);
  if (version === 0) out.writeUInt32BE(newFirstOffset, outSidx + (firstOffsetField - sidx.start));
  else out.writeBigUInt64BE(BigInt(newFirstOffset), outSidx + (firstOffsetField - sidx.start));
  for (let i = 0; i < count; i++) {
    const field = countField + 2 + 12 * i;
    const word = data.readUInt32BE(field);
    const size = word & 0x7fffffff;
    const grownSize = moved(start + size) - moved(start);
    if (grownSize > 0x7fffffff) throw new CencError(`${where}: sidx reference ${i} would outgrow its 31-bit size`);
    out.writeUInt32BE(((word & 0x80000000) | grownSize) >>> 0, outSidx + (field - sidx.start));
    start += size;
  }
}
