import { fragmentTiming, initTiming, presentationTime } from '../../../lib/dataplane/mp4/fragment-timing';
import { box, fragment, init, u32 } from '../../support/mp4-boxes';


describe('mp4 timing', () => {
  test('reads the timescale and the edit list of an init section: empty edits delay, the media edit skips', () => {
    // GIVEN ffmpeg's video init: an empty edit of 80 ms (movie timescale 1000), then media from composition time 1024
    expect(initTiming(init(12800, [[80, -1], [0, 1024]]))).toEqual({ timescale: 12800, presentationShift: 0 });
    expect(initTiming(init(48000, [[58, -1], [0, 0]]))).toEqual({ timescale: 48000, presentationShift: 2784 });
    expect(initTiming(init(48000, [[0, 1024]]))).toEqual({ timescale: 48000, presentationShift: -1024 });
    expect(initTiming(init(90000))).toEqual({ timescale: 90000, presentationShift: 0 });
  });

  test('gives a fragment\'s presentation time: decode time plus its first composition offset, shifted by the edit list', () => {
    const video = initTiming(init(12800, [[80, -1], [0, 1024]]))!;
    const timing = fragmentTiming(fragment(51200, 1024))!;

    // The first frame of every 4-s fragment presents two frames (80 ms) after its decode time.
    expect(timing).toEqual({ decodeTime: 51200, compositionOffset: 1024 });
    expect(presentationTime(timing, video)).toBe(52224);
    expect(fragmentTiming(fragment(192512))).toEqual({ decodeTime: 192512, compositionOffset: 0 });
  });

  test('answers undefined for what is not an init section or a fragment', () => {
    expect(initTiming(Buffer.from('not an mp4 at all'))).toBeUndefined();
    expect(fragmentTiming(box('moof', box('mfhd', u32(0, 1))))).toBeUndefined();
    expect(fragmentTiming(Buffer.alloc(3))).toBeUndefined();
  });
});
