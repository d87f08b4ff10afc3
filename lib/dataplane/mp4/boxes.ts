/**
 * Walking ISO-BMFF (MP4, CMAF) boxes: the one reader every data-plane module uses to look inside the
 * transcoder's files (codec facts, fragment timing, encryption). Only headers are parsed; bodies are
 * views of the input, never copies.
 */

export interface Box {
  /** Four-character code, e.g. `moof`. */
  readonly type: string;
  /** Offset of the box header in the buffer it was read from. */
  readonly offset: number;
  /** Size of the header (8, or 16 with a 64-bit size). */
  readonly headerSize: number;
  /** Content after the box header (cut to what the buffer holds when the box is truncated). */
  readonly body: Buffer;
}

/** The boxes laid end to end in `data`; a truncated last box is cut to what is there. */
export function boxes(data: Buffer): Box[] {
  const found: Box[] = [];
  let offset = 0;
  while (offset + 8 <= data.length) {
    let size = data.readUInt32BE(offset);
    let headerSize = 8;
    if (size === 1) {
      if (offset + 16 > data.length) break;
      size = Number(data.readBigUInt64BE(offset + 8));
      headerSize = 16;
    } else if (size === 0) {
      size = data.length - offset;
    }
    if (size < headerSize) break;
    found.push({ type: data.toString('latin1', offset + 4, offset + 8), offset, headerSize, body: data.subarray(offset + headerSize, Math.min(data.length, offset + size)) });
    offset += size;
  }
  return found;
}

/** Body of the first child box of `type` in `data`. */
export function childBox(data: Buffer, type: string): Buffer | undefined {
  return boxes(data).find((b) => b.type === type)?.body;
}

/** Body of the first box along `path` (each a child of the previous). */
export function findBox(data: Buffer, path: readonly string[]): Buffer | undefined {
  let scope: Buffer | undefined = data;
  for (const type of path) scope = scope && childBox(scope, type);
  return scope;
}

/**
 * Why `data` is not a whole media segment (top-level boxes that end exactly at its end, with a `moof`
 * and an `mdat`), or undefined when it is. A segment cut short by a full disk fails this.
 */
export function incompleteSegment(data: Buffer): string | undefined {
  const found = boxes(data);
  const last = found[found.length - 1];
  const end = last ? last.offset + last.headerSize + last.body.length : 0;
  const declared = last ? (data.readUInt32BE(last.offset) === 1 ? Number(data.readBigUInt64BE(last.offset + 8)) : data.readUInt32BE(last.offset) || end - last.offset) : 0;
  if (!last || last.offset + declared !== data.length || end !== data.length) return `its boxes do not end at its end (${data.length} bytes)`;
  if (!found.some((b) => b.type === 'moof') || !found.some((b) => b.type === 'mdat')) return 'it has no moof and mdat';
  return undefined;
}
