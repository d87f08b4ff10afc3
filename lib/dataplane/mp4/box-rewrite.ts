/**
 * ISO-BMFF (ISO/IEC 14496-12) boxes, strictly: a box that claims more bytes than its parent holds is
 * an error (the packager rewrites what it reads, so it must never guess at a truncated file), and
 * every box is located by offsets into the original buffer, so a rewrite can copy untouched bytes
 * and patch sizes in place.
 *
 * ```ts
 * const moov = requireChild(init, topLevel(init), 'moov', 'init.mp4');
 * const traks = children(init, moov, 'init.mp4').filter((b) => b.type === 'trak');
 * const frma = box('frma', fourCc('avc1'));
 * ```
 */

import { boxes } from './boxes';

/** A malformed or unexpected file: `where` names the file (and box path) in the message. */
export class Mp4Error extends Error {}

/** Where one box sits in a buffer. */
export interface BoxRef {
  readonly type: string;
  /** Offset of the size field. */
  readonly start: number;
  /** Offset of the first byte after the header (after `largesize` when the box has one). */
  readonly bodyStart: number;
  /** Offset just past the box. */
  readonly end: number;
}

/** The region a buffer's top-level boxes live in (what `children` of a file walks). */
export function topLevel(data: Uint8Array): BoxRef {
  return { type: '', start: 0, bodyStart: 0, end: data.length };
}

/**
 * Boxes laid end to end in `data` from `from` to `to`, read by the shared walker (boxes.ts), which
 * cuts a truncated box short: here anything it could not account for is an error that says where.
 */
export function boxesIn(data: Buffer, from: number, to: number, where: string): BoxRef[] {
  const found = boxes(data.subarray(from, to)).map((b) => ({
    type: b.type,
    start: from + b.offset,
    bodyStart: from + b.offset + b.headerSize,
    end: from + b.offset + b.headerSize + b.body.length,
  }));
  const last = found[found.length - 1];
  if (last && declaredSize(data, last.start, to) > last.end - last.start) {
    throw new Mp4Error(`${where}: box "${last.type}" at offset ${last.start} claims ${declaredSize(data, last.start, to)} bytes; ${to - last.start} remain in its parent`);
  }
  const covered = last ? last.end : from;
  if (covered !== to) throw new Mp4Error(`${where}: ${to - covered} byte(s) at offset ${covered} do not form a box`);
  return found;
}

function declaredSize(data: Buffer, at: number, to: number): number {
  const size = data.readUInt32BE(at);
  if (size === 1) return Number(data.readBigUInt64BE(at + 8));
  return size === 0 ? to - at : size;
}

/** Children of `parent`, whose own fields take the first `skip` bytes of its body (e.g. 8 for `stsd`). */
export function children(data: Buffer, parent: BoxRef, where: string, skip = 0): BoxRef[] {
  return boxesIn(data, parent.bodyStart + skip, parent.end, parent.type ? `${where} ${parent.type}` : where);
}

/** The first child of `type`; throws when there is none. */
export function requireChild(data: Buffer, parent: BoxRef, type: string, where: string): BoxRef {
  const found = children(data, parent, where).find((b) => b.type === type);
  if (!found) throw new Mp4Error(`${where}: no "${type}" box in ${parent.type ? `"${parent.type}"` : 'the file'}`);
  return found;
}

/** Version and flags of a full box. */
export function fullBoxHeader(data: Buffer, ref: BoxRef, where: string): { version: number; flags: number } {
  if (ref.end - ref.bodyStart < 4) throw new Mp4Error(`${where}: "${ref.type}" box is too short for a full-box header`);
  return { version: data[ref.bodyStart], flags: data.readUIntBE(ref.bodyStart + 1, 3) };
}

// ---- writing: small boxes (init segments, headers) are built from parts ----

/** A box of `type` around `parts` (32-bit size). */
export function box(type: string, ...parts: readonly Uint8Array[]): Buffer {
  const size = 8 + parts.reduce((sum, p) => sum + p.length, 0);
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(size, 0);
  out.write(type, 4, 4, 'latin1');
  let offset = 8;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A full box: version (8 bits) and flags (24 bits) before `parts`. */
export function fullBox(type: string, version: number, flags: number, ...parts: readonly Uint8Array[]): Buffer {
  return box(type, Buffer.from([version, (flags >>> 16) & 0xff, (flags >>> 8) & 0xff, flags & 0xff]), ...parts);
}

export function u8(value: number): Buffer {
  return Buffer.from([value & 0xff]);
}

export function u32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value, 0);
  return out;
}

/** The four characters of a box or format type as bytes. */
export function fourCc(type: string): Buffer {
  if (type.length !== 4) throw new Mp4Error(`four-character code ${JSON.stringify(type)} is not 4 characters`);
  return Buffer.from(type, 'latin1');
}

/** Bytes inserted at an offset of a buffer, and the boxes they go into (whose sizes grow by them). */
export interface Insertion {
  readonly at: number;
  readonly bytes: Uint8Array;
  /** Every box that contains the insertion point: the parent and all its ancestors. */
  readonly into: readonly BoxRef[];
}

/**
 * `data` with `insertions` made and the sizes of the boxes they go into grown to match; the types
 * in `renamed` are rewritten in place (e.g. `avc1` -> `encv`). Bytes inserted at a box's end belong
 * to whichever box `into` names, and push what follows.
 */
export function spliceBoxes(data: Buffer, insertions: readonly Insertion[], renamed: readonly { ref: BoxRef; type: string }[] = []): Buffer {
  const sorted = [...insertions].sort((a, b) => a.at - b.at);
  const added = sorted.reduce((sum, i) => sum + i.bytes.length, 0);
  const out = Buffer.allocUnsafe(data.length + added);
  let read = 0;
  let write = 0;
  for (const insertion of sorted) {
    write += data.copy(out, write, read, insertion.at);
    read = insertion.at;
    out.set(insertion.bytes, write);
    write += insertion.bytes.length;
  }
  data.copy(out, write, read);
  // Where a box's first byte went: after every insertion at or before it.
  const moved = (position: number) => position + sorted.filter((i) => i.at <= position).reduce((sum, i) => sum + i.bytes.length, 0);
  const growth = new Map<BoxRef, number>();
  for (const insertion of sorted) {
    for (const ref of insertion.into) growth.set(ref, (growth.get(ref) ?? 0) + insertion.bytes.length);
  }
  for (const [ref, grown] of growth) {
    const at = moved(ref.start);
    if (ref.bodyStart - ref.start === 16) {
      out.writeBigUInt64BE(out.readBigUInt64BE(at + 8) + BigInt(grown), at + 8);
      continue;
    }
    const size = out.readUInt32BE(at);
    if (size === 0) continue; // "to the end of the file": still true
    if (size + grown > 0xffffffff) throw new Mp4Error(`box "${ref.type}" would outgrow a 32-bit size`);
    out.writeUInt32BE(size + grown, at);
  }
  for (const { ref, type } of renamed) out.write(type, moved(ref.start) + 4, 4, 'latin1');
  return out;
}
