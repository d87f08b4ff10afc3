import { fragmentTiming, initTiming, presentationTime } from '../../../lib/dataplane/mp4/fragment-timing';

/** An ISO-BMFF box: size, type, payload. */
function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

const u32 = (...values: number[]) => Buffer.concat(values.map((v) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v | 0, 0);
  return b;
}));

/** mdhd version 0: version+flags, creation, modification, timescale, duration, language. */
const mdhd = (timescale: number) => box('mdhd', u32(0, 0, 0, timescale, 0), Buffer.alloc(4));
/** elst version 0 with [segment_duration, media_time] entries (rate 1.0). */
const elst = (entries: [number, number][]) => box('elst', u32(0, entries.length), ...entries.map(([duration, mediaTime]) => u32(duration, mediaTime, 0x00010000)));
const init = (timescale: number, edits?: [number, number][]) => Buffer.concat([
  box('ftyp', Buffer.from('iso6')),
  box('moov', box('mvhd', u32(0, 0, 0, 1000, 0)), box('trak', box('tkhd', Buffer.alloc(84)), ...(edits ? [box('edts', elst(edits))] : []), box('mdia', mdhd(timescale)))),
]);
/** A fragment whose trun carries sample duration, size, flags and composition offset (flags 0xf01). */
const fragment = (decodeTime: number, firstOffset?: number) => Buffer.concat([
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

describe('mp4 timing', () => {
  test('reads the timescale and the media edit of an init section, skipping an empty edit as browsers do', () => {
    // GIVEN ffmpeg's video init: an empty edit of 66 ms, then media from composition time 1024
    expect(initTiming(init(15360, [[66, -1], [0, 1024]]))).toEqual({ timescale: 15360, presentationShift: -1024 });
    expect(initTiming(init(48000, [[45, -1], [0, 0]]))).toEqual({ timescale: 48000, presentationShift: 0 });
    expect(initTiming(init(90000))).toEqual({ timescale: 90000, presentationShift: 0 });
  });

  test('gives a fragment\'s presentation time: decode time, plus its first composition offset, minus the media edit', () => {
    const video = initTiming(init(15360, [[66, -1], [0, 1024]]))!;
    const timing = fragmentTiming(fragment(61440, 1024))!;

    expect(timing).toEqual({ decodeTime: 61440, compositionOffset: 1024 });
    expect(presentationTime(timing, video)).toBe(61440);
    expect(fragmentTiming(fragment(192512))).toEqual({ decodeTime: 192512, compositionOffset: 0 });
  });

  test('answers undefined for what is not an init section or a fragment', () => {
    expect(initTiming(Buffer.from('not an mp4 at all'))).toBeUndefined();
    expect(fragmentTiming(box('moof', box('mfhd', u32(0, 1))))).toBeUndefined();
    expect(fragmentTiming(Buffer.alloc(3))).toBeUndefined();
  });
});
