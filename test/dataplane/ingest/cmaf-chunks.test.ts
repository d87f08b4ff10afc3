/**
 * Reading chunks (moof + mdat) from a segment file as it grows: a box cut short by the writer is read
 * again when complete, and each chunk's duration and sync flag come from its track fragment.
 */
import { ChunkScanner, moofTiming } from '../../../lib/dataplane/mp4/cmaf-chunks';

function box(type: string, ...children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

/** A chunk as ffmpeg writes it: tfhd with default duration and flags, tfdt, a trun with sizes (and first-sample flags on a key frame). */
function chunk(samples: number, decodeTime: number, key: boolean, mdatBytes = 100): Buffer {
  const NON_SYNC = 0x00010000;
  const tfhd = box('tfhd', u32(0x020038, 1, 512, 1000, NON_SYNC));
  const tfdt = box('tfdt', Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from([0, 0, 0, 0]), u32(decodeTime)]));
  const trun = box('trun', u32(key ? 0x205 : 0x201, samples, 0), ...(key ? [u32(0x02000000)] : []), ...Array.from({ length: samples }, () => u32(10)));
  return Buffer.concat([box('moof', box('mfhd', u32(0, 1)), box('traf', tfhd, tfdt, trun)), box('mdat', Buffer.alloc(mdatBytes))]);
}

it('reads the timing of a fragment: duration from the default sample duration, sync from the first sample flags', () => {
  const fragment = chunk(8, 4096, true);
  expect(moofTiming(fragment.subarray(8, fragment.readUInt32BE(0)))).toEqual({ duration: 8 * 512, decodeTime: 4096, independent: true });
});

it('counts a fragment without per-sample fields once: every sample at the default duration', () => {
  // What ffmpeg writes for a fragment whose samples share size and duration: trun with a data offset only.
  const tfhd = box('tfhd', u32(0x020038, 1, 512, 1000, 0x00010000));
  const trun = box('trun', u32(0x001, 3, 0));
  const moof = box('moof', box('traf', tfhd, trun));
  expect(moofTiming(moof.subarray(8))).toEqual({ duration: 3 * 512, decodeTime: 0, independent: false });
});

it('hands on each chunk once complete, whatever the write boundaries', () => {
  const styp = box('styp', Buffer.from('msdh\0\0\0\0msdhmsix', 'latin1'));
  const file = Buffer.concat([styp, chunk(8, 0, true), chunk(8, 4096, false), chunk(6, 8192, false)]);
  const scanner = new ChunkScanner(false);
  const seen: ReturnType<ChunkScanner['take']> = [];
  // Bytes arrive in pieces that cut boxes anywhere.
  let fed = 0;
  for (const cut of [10, 30, 200, 201, 420, file.length]) {
    const more = file.subarray(scanner.consumed, cut);
    seen.push(...scanner.take(Buffer.from(more)));
    fed = cut;
  }
  expect(fed).toBe(file.length);
  expect(seen.map((c) => ({ offset: c.offset, duration: c.duration, independent: c.independent }))).toEqual([
    { offset: styp.length, duration: 4096, independent: true },
    { offset: styp.length + seen[0].length, duration: 4096, independent: false },
    { offset: styp.length + seen[0].length + seen[1].length, duration: 3072, independent: false },
  ]);
  expect(seen.reduce((end, c) => Math.max(end, c.offset + c.length), 0)).toBe(file.length);
  expect(scanner.consumed).toBe(file.length);
});
