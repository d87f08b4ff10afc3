/**
 * A common-encryption decrypter and structure checker for tests, written from ISO/IEC 23001-7 and
 * ISO/IEC 14496-12 on its own: it shares no code with the packager (lib/dataplane/origin/cenc) or
 * its box module, so a mistake in one is not repeated in the other.
 *
 * It reads what a player reads: `schm`/`tenc` from the init section; per fragment the sample sizes
 * and offsets from `tfhd`/`trun`, and each sample's IV and subsamples from the bytes `saio` points
 * at (sized by `saiz`), not from `senc`, so a wrong `saio` fails here. It also checks that `senc`
 * holds the same bytes, that every box's children fill it exactly, and that `sidx` sizes add up.
 */
import { createDecipheriv } from 'node:crypto';

export interface TestBox {
  type: string;
  start: number;
  end: number;
  /** first byte after the header */
  body: number;
}

/** Boxes in [from, to), throwing unless they fill it exactly. */
export function parseBoxes(data: Buffer, from = 0, to = data.length): TestBox[] {
  const out: TestBox[] = [];
  let at = from;
  while (at < to) {
    if (to - at < 8) throw new Error(`${to - at} stray bytes at ${at}`);
    let size = data.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      size = Number(data.readBigUInt64BE(at + 8));
      header = 16;
    }
    const type = data.toString('latin1', at + 4, at + 8);
    if (size < header || at + size > to) throw new Error(`box ${type} at ${at} of size ${size} overruns its parent (ends at ${to})`);
    out.push({ type, start: at, end: at + size, body: at + header });
    at += size;
  }
  return out;
}

function one(data: Buffer, parent: TestBox | undefined, type: string, skip = 0): TestBox {
  const found = parseBoxes(data, parent ? parent.body + skip : 0, parent ? parent.end : data.length).filter((b) => b.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} in ${parent?.type ?? 'file'}, found ${found.length}`);
  return found[0];
}

function path(data: Buffer, ...types: string[]): TestBox {
  let box: TestBox | undefined;
  for (const type of types) box = one(data, box, type);
  return box as TestBox;
}

/** Every container's children fill it exactly, down to the sample entries and sinf. */
export function checkNesting(data: Buffer): void {
  const containers = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex', 'moof', 'traf', 'edts', 'dinf', 'sinf', 'schi', 'udta']);
  const walk = (from: number, to: number) => {
    for (const b of parseBoxes(data, from, to)) {
      if (containers.has(b.type)) walk(b.body, b.end);
      if (b.type === 'stsd') walk(b.body + 8, b.end);
      if (b.type === 'encv' || b.type === 'avc1') walk(b.body + 78, b.end);
      if (b.type === 'enca' || b.type === 'mp4a') walk(b.body + 28, b.end);
    }
  };
  walk(0, data.length);
}

export interface TrackEncryption {
  scheme: string;
  originalFormat: string;
  sampleEntry: string;
  tencVersion: number;
  crypt: number;
  skip: number;
  isProtected: number;
  ivSize: number;
  kid: Buffer;
  constantIv?: Buffer;
  /** pssh boxes of moov: system id (hex) and key ids */
  pssh: { systemId: string; version: number; kids: Buffer[]; dataSize: number }[];
}

/** What the init section says about the track's encryption. */
export function readTrackEncryption(init: Buffer): TrackEncryption {
  const stsd = path(init, 'moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd');
  const [entry] = parseBoxes(init, stsd.body + 8, stsd.end);
  const childrenFrom = entry.body + (entry.type === 'encv' ? 78 : 28);
  const sinf = parseBoxes(init, childrenFrom, entry.end).find((b) => b.type === 'sinf');
  if (!sinf) throw new Error(`sample entry ${entry.type} has no sinf`);
  const frma = one(init, sinf, 'frma');
  const schm = one(init, sinf, 'schm');
  const tenc = one(init, one(init, sinf, 'schi'), 'tenc');
  const t = tenc.body;
  const ivSize = init[t + 7];
  const moov = path(init, 'moov');
  const pssh = parseBoxes(init, moov.body, moov.end).filter((b) => b.type === 'pssh').map((b) => {
    const version = init[b.body];
    const systemId = init.toString('hex', b.body + 4, b.body + 20);
    let at = b.body + 20;
    const kids: Buffer[] = [];
    if (version > 0) {
      const count = init.readUInt32BE(at);
      at += 4;
      for (let i = 0; i < count; i++, at += 16) kids.push(init.subarray(at, at + 16));
    }
    const dataSize = init.readUInt32BE(at);
    if (at + 4 + dataSize !== b.end) throw new Error('pssh size does not match its contents');
    return { systemId, version, kids, dataSize };
  });
  return {
    scheme: init.toString('latin1', schm.body + 4, schm.body + 8),
    originalFormat: init.toString('latin1', frma.body, frma.body + 4),
    sampleEntry: entry.type,
    tencVersion: init[t],
    crypt: init[t + 5] >> 4,
    skip: init[t + 5] & 0xf,
    isProtected: init[t + 6],
    ivSize,
    kid: init.subarray(t + 8, t + 24),
    constantIv: ivSize === 0 ? init.subarray(t + 25, t + 25 + init[t + 24]) : undefined,
    pssh,
  };
}

export interface SampleInfo {
  offset: number;
  size: number;
  iv: Buffer;
  subsamples: [number, number][];
}

/**
 * Decrypts a protected media segment in a copy, checking its structure on the way. Returns the
 * copy and the per-sample auxiliary information it used.
 */
export function decryptSegment(segment: Buffer, enc: TrackEncryption, key: Buffer): { clear: Buffer; samples: SampleInfo[] } {
  checkNesting(segment);
  const out = Buffer.from(segment);
  const top = parseBoxes(segment);
  const samples: SampleInfo[] = [];
  top.forEach((moof, index) => {
    if (moof.type !== 'moof') return;
    const traf = one(segment, moof, 'traf');
    const tfhd = one(segment, traf, 'tfhd');
    const tfhdFlags = segment.readUIntBE(tfhd.body + 1, 3);
    let f = tfhd.body + 8;
    if (tfhdFlags & 0x1) throw new Error('absolute base data offset');
    if (tfhdFlags & 0x2) f += 4;
    if (tfhdFlags & 0x8) f += 4;
    const defaultSize = tfhdFlags & 0x10 ? segment.readUInt32BE(f) : 0;
    const trun = one(segment, traf, 'trun');
    const trunFlags = segment.readUIntBE(trun.body + 1, 3);
    const count = segment.readUInt32BE(trun.body + 4);
    let at = trun.body + 8;
    let offset = moof.start + segment.readInt32BE(at);
    at += 4;
    if (trunFlags & 0x4) at += 4;
    const mdat = top[index + 1];
    if (mdat?.type !== 'mdat' || offset !== mdat.body) throw new Error(`trun data offset points at ${offset}, not at the mdat body (${mdat?.body})`);
    const sizes: number[] = [];
    for (let i = 0; i < count; i++) {
      if (trunFlags & 0x100) at += 4;
      sizes.push(trunFlags & 0x200 ? segment.readUInt32BE(at) : defaultSize);
      if (trunFlags & 0x200) at += 4;
      if (trunFlags & 0x400) at += 4;
      if (trunFlags & 0x800) at += 4;
    }
    // saiz: sizes of the auxiliary information; saio: where it starts, from the moof.
    const saiz = one(segment, traf, 'saiz');
    const saio = one(segment, traf, 'saio');
    const senc = one(segment, traf, 'senc');
    if (segment.readUIntBE(saiz.body + 1, 3) & 1 || segment.readUIntBE(saio.body + 1, 3) & 1) throw new Error('aux_info_type present');
    const defaultInfo = segment[saiz.body + 4];
    if (segment.readUInt32BE(saiz.body + 5) !== count) throw new Error('saiz sample count differs from trun');
    const infoSizes = sizes.map((_s, i) => (defaultInfo !== 0 ? defaultInfo : segment[saiz.body + 9 + i]));
    if (segment.readUInt32BE(saio.body + 4) !== 1) throw new Error('expected one saio entry');
    const infoStart = moof.start + segment.readUInt32BE(saio.body + 8);
    const sencFlags = segment.readUIntBE(senc.body + 1, 3);
    if (segment.readUInt32BE(senc.body + 4) !== count) throw new Error('senc sample count differs from trun');
    if (infoStart !== senc.body + 8) throw new Error(`saio points at ${infoStart}, senc's sample information starts at ${senc.body + 8}`);
    const infoLength = infoSizes.reduce((a, b) => a + b, 0);
    if (senc.body + 8 + infoLength !== senc.end) throw new Error(`saiz sizes add up to ${infoLength}, senc holds ${senc.end - senc.body - 8}`);
    let info = infoStart;
    for (let i = 0; i < count; i++) {
      const iv = enc.ivSize > 0 ? segment.subarray(info, info + enc.ivSize) : (enc.constantIv as Buffer);
      let p = info + enc.ivSize;
      const subsamples: [number, number][] = [];
      if (sencFlags & 2) {
        const n = segment.readUInt16BE(p);
        p += 2;
        for (let s = 0; s < n; s++, p += 6) subsamples.push([segment.readUInt16BE(p), segment.readUInt32BE(p + 2)]);
      }
      if (p - info !== infoSizes[i]) throw new Error(`sample ${i}: saiz says ${infoSizes[i]} bytes of information, it holds ${p - info}`);
      info = p;
      samples.push({ offset, size: sizes[i], iv: Buffer.from(iv), subsamples });
      decryptSample(out, offset, sizes[i], iv, subsamples, enc, key);
      offset += sizes[i];
    }
    if (offset !== mdat.end) throw new Error(`samples end at ${offset}, the mdat at ${mdat.end}`);
  });
  checkSidx(segment);
  return { clear: out, samples };
}

function decryptSample(out: Buffer, offset: number, size: number, iv: Buffer, subsamples: [number, number][], enc: TrackEncryption, key: Buffer): void {
  const regions: [number, number][] = [];
  if (subsamples.length === 0) {
    regions.push([offset, size]);
  } else {
    let p = offset;
    for (const [clear, protectedBytes] of subsamples) {
      p += clear;
      if (protectedBytes) regions.push([p, protectedBytes]);
      p += protectedBytes;
    }
    if (p !== offset + size) throw new Error(`subsamples cover ${p - offset} bytes of a ${size}-byte sample`);
  }
  if (enc.scheme === 'cenc') {
    // One CTR stream over the protected regions of the sample, counter block = IV (+ zeros for 8 bytes).
    const counter = Buffer.alloc(16);
    iv.copy(counter);
    const decipher = createDecipheriv('aes-128-ctr', key, counter);
    for (const [at, length] of regions) decipher.update(out.subarray(at, at + length)).copy(out, at);
    return;
  }
  if (enc.scheme !== 'cbcs') throw new Error(`scheme ${enc.scheme}`);
  const crypt = enc.crypt || 0;
  const skip = enc.skip || 0;
  for (const [at, length] of regions) {
    // CBC restarts with the constant IV on every subsample; pattern crypt:skip; a partial block stays clear.
    const blocks: [number, number][] = [];
    if (crypt === 0 && skip === 0) {
      if (length >= 16) blocks.push([at, Math.floor(length / 16) * 16]);
    } else {
      for (let p = 0; length - p >= 16 * crypt; p += 16 * (crypt + skip)) blocks.push([at + p, 16 * crypt]);
    }
    const total = blocks.reduce((a, [, l]) => a + l, 0);
    if (total === 0) continue;
    const joined = Buffer.concat(blocks.map(([p, l]) => out.subarray(p, p + l)));
    const decipher = createDecipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(joined), decipher.final()]);
    let read = 0;
    for (const [p, l] of blocks) {
      plain.copy(out, p, read, read + l);
      read += l;
    }
  }
}

/** Each sidx reference covers exactly the moof+mdat pair(s) after it. */
function checkSidx(segment: Buffer): void {
  const top = parseBoxes(segment);
  for (const sidx of top.filter((b) => b.type === 'sidx')) {
    const version = segment[sidx.body];
    const firstOffsetAt = sidx.body + (version === 0 ? 16 : 20);
    const firstOffset = version === 0 ? segment.readUInt32BE(firstOffsetAt) : Number(segment.readBigUInt64BE(firstOffsetAt));
    const countAt = firstOffsetAt + (version === 0 ? 4 : 8) + 2;
    let p = sidx.end + firstOffset;
    for (let i = 0; i < segment.readUInt16BE(countAt); i++) {
      const size = segment.readUInt32BE(countAt + 2 + 12 * i) & 0x7fffffff;
      const moof = top.find((b) => b.start === p);
      if (!moof || moof.type !== 'moof') throw new Error(`sidx reference ${i} starts at ${p}, not at a moof`);
      p += size;
      if (!top.some((b) => b.end === p)) throw new Error(`sidx reference ${i} ends at ${p}, not at a box boundary`);
    }
  }
}

/** The mdat bodies of a segment, concatenated: its samples' bytes. */
export function sampleBytes(segment: Buffer): Buffer {
  return Buffer.concat(parseBoxes(segment).filter((b) => b.type === 'mdat').map((b) => segment.subarray(b.body, b.end)));
}
