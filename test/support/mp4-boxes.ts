/**
 * Minimal ISO-BMFF builders for unit tests of the box readers: an init section (one track, with an
 * optional edit list) and a media fragment (tfdt, trun), with only the fields the readers look at.
 */
import { box } from '../../lib/dataplane/mp4/box-rewrite';

export { box };

/** Big-endian 32-bit words (signed values allowed, e.g. an elst media_time of -1). */
export const u32 = (...values: number[]) => Buffer.concat(values.map((v) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v | 0, 0);
  return b;
}));

/** mdhd version 0: version+flags, creation, modification, timescale, duration, language. */
const mdhd = (timescale: number) => box('mdhd', u32(0, 0, 0, timescale, 0), Buffer.alloc(4));
/** elst version 0 with [segment_duration, media_time] entries (rate 1.0). */
const elst = (entries: [number, number][]) => box('elst', u32(0, entries.length), ...entries.map(([duration, mediaTime]) => u32(duration, mediaTime, 0x00010000)));
export const init = (timescale: number, edits?: [number, number][]) => Buffer.concat([
  box('ftyp', Buffer.from('iso6')),
  box('moov', box('mvhd', u32(0, 0, 0, 1000, 0), Buffer.alloc(80)), box('trak', box('tkhd', Buffer.alloc(84)), ...(edits ? [box('edts', elst(edits))] : []), box('mdia', mdhd(timescale)))),
]);
/** A fragment whose trun carries sample duration, size, flags and composition offset (flags 0xf01). */
export const fragment = (decodeTime: number, firstOffset?: number) => Buffer.concat([
  box('styp', Buffer.from('msdh')),
  box('moof', box('mfhd', u32(0, 1)), box('traf',
    box('tfhd', u32(0x020000, 1)),
    box('tfdt', u32(0x01000000), u32(0, decodeTime)),
    firstOffset === undefined
      ? box('trun', u32(0x000201, 1, 0), u32(100))
      : box('trun', u32(0x000f01, 2, 0), u32(512, 100, 0x02000000, firstOffset), u32(512, 50, 0x01010000, 0)),
  )),
  box('mdat', Buffer.alloc(150)),
]);
