/**
 * The subsample map of H.264 samples (ISO/IEC 23001-7 section 9.5, "subsample encryption of NAL
 * structured video"): each NAL unit's length field and NAL header stay clear; of slice NAL units
 * (types 1 and 5) the slice header stays clear too and the slice data is protected; every other NAL
 * unit (SEI, parameter sets, delimiters) stays clear. For `cenc` the protected part of each NAL unit
 * is trimmed to whole 16-byte blocks, the rest added to its clear part (CMAF requires it, as Shaka
 * Packager does); `cbcs` protects from the first byte of slice data (its pattern leaves a trailing
 * partial block clear anyway). Clear runs longer than a subsample can say (65535 bytes) are split.
 */
import { H264Error, H264ParameterSets, NAL_TYPE } from './h264-slice-header';
import { CencScheme } from './scheme';

const MAX_CLEAR = 0xffff;

/**
 * Subsample entries and protected byte ranges of a fragment's samples, in growable typed arrays (no
 * allocation per sample). Ranges are offsets into the buffer the samples are read from, plus `shift`.
 */
export class SubsampleTable {
  /** clear, protected; clear, protected; ... */
  entries: Uint32Array<ArrayBuffer> = new Uint32Array(256);
  entryCount = 0;
  /** offset, length of protected ranges (subsamples with protected bytes) */
  ranges: Uint32Array<ArrayBuffer> = new Uint32Array(256);
  rangeCount = 0;
  /** Per sample: index of its first entry and first range; the last one closes the table. */
  readonly entryStarts: number[] = [0];
  readonly rangeStarts: number[] = [0];

  push(clear: number, protectedBytes: number, protectedAt: number): void {
    while (clear > MAX_CLEAR) {
      this.add(MAX_CLEAR, 0);
      clear -= MAX_CLEAR;
    }
    this.add(clear, protectedBytes);
    if (protectedBytes > 0) {
      if (2 * this.rangeCount + 2 > this.ranges.length) this.ranges = grow(this.ranges);
      this.ranges[2 * this.rangeCount] = protectedAt;
      this.ranges[2 * this.rangeCount + 1] = protectedBytes;
      this.rangeCount++;
    }
  }

  /** A sample with no subsamples at all (full-sample encryption of `length` bytes at `offset`). */
  pushWhole(offset: number, length: number): void {
    if (length > 0) {
      if (2 * this.rangeCount + 2 > this.ranges.length) this.ranges = grow(this.ranges);
      this.ranges[2 * this.rangeCount] = offset;
      this.ranges[2 * this.rangeCount + 1] = length;
      this.rangeCount++;
    }
    this.endSample();
  }

  endSample(): void {
    this.entryStarts.push(this.entryCount);
    this.rangeStarts.push(this.rangeCount);
  }

  get sampleCount(): number {
    return this.entryStarts.length - 1;
  }

  private add(clear: number, protectedBytes: number): void {
    if (2 * this.entryCount + 2 > this.entries.length) this.entries = grow(this.entries);
    this.entries[2 * this.entryCount] = clear;
    this.entries[2 * this.entryCount + 1] = protectedBytes;
    this.entryCount++;
  }
}

function grow(array: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> {
  const bigger = new Uint32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

/**
 * Adds the subsamples of the H.264 sample `data[start, end)` (length-prefixed NAL units) to `table`,
 * protected ranges at their offset plus `shift`. `sets` is updated by in-band SPS/PPS.
 */
export function addH264Sample(
  table: SubsampleTable, data: Buffer, start: number, end: number, nalLengthSize: number,
  sets: H264ParameterSets, scheme: CencScheme, shift: number,
): void {
  let clear = 0;
  let offset = start;
  while (offset < end) {
    if (offset + nalLengthSize > end) throw new H264Error(`sample ends inside a NAL unit length field (${end - offset} byte(s) left)`);
    const length = data.readUIntBE(offset, nalLengthSize);
    const nal = offset + nalLengthSize;
    if (length === 0 || nal + length > end) throw new H264Error(`NAL unit of ${length} bytes at sample offset ${offset - start} overruns the ${end - start}-byte sample`);
    const type = data[nal] & 0x1f;
    if (type === NAL_TYPE.slice || type === NAL_TYPE.idrSlice) {
      const header = sets.sliceHeaderEnd(data, nal, nal + length);
      let protectedBytes = length - Math.min(header, length);
      if (scheme === 'cenc') protectedBytes -= protectedBytes % 16;
      const clearBytes = nalLengthSize + length - protectedBytes;
      if (protectedBytes > 0) {
        table.push(clear + clearBytes, protectedBytes, nal + length - protectedBytes + shift);
        clear = 0;
      } else {
        clear += clearBytes;
      }
    } else {
      if (type === NAL_TYPE.sps || type === NAL_TYPE.pps) sets.add(data, nal, nal + length);
      clear += nalLengthSize + length;
    }
    offset = nal + length;
  }
  if (clear > 0) table.push(clear, 0, 0);
  table.endSample();
}
