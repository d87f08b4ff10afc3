/**
 * Reading the transcoder's CMAF files. The fixtures are ffmpeg 5.1's own fMP4 HLS output (as the
 * ingest's transcoder writes it: test/fixtures/cmaf, 1 s of 160x90 H.264 at 25 fps and stereo AAC at
 * 48 kHz); the expected values are what ffprobe reports for them (avc1 constrained baseline level 1.1,
 * time base 1/12800, 25 video frames, 47 AAC frames).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { boxes, findBox } from '../../../lib/dataplane/mp4/boxes';
import { CmafError, fragmentSampleCount, initFacts } from '../../../lib/dataplane/mp4/cmaf-facts';
import { fragmentTiming, initTiming, presentationTime } from '../../../lib/dataplane/mp4/fragment-timing';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'cmaf', name));
const videoInit = fixture('video-init.mp4');
const videoSegment = fixture('video-segment.m4s');
const audioInit = fixture('audio-init.mp4');
const audioSegment = fixture('audio-segment.m4s');

describe('CMAF facts', () => {
  test('an H.264 init section gives the RFC 6381 codec string and the picture size', () => {
    expect(initFacts(videoInit, 'video/init.mp4')).toEqual({ type: 'video', codecs: 'avc1.42c00b', width: 160, height: 90 });
  });

  test('an AAC init section gives mp4a.40.2, the sample rate and the channels', () => {
    expect(initFacts(audioInit, 'audio/init.mp4')).toEqual({ type: 'audio', codecs: 'mp4a.40.2', sampleRate: 48000, channels: 2 });
  });

  test('a fragment counts its samples (frames), for the frame rate', () => {
    expect(fragmentSampleCount(videoSegment)).toBe(25);
    expect(fragmentSampleCount(audioSegment)).toBe(47);
  });

  test('timescale and decode time of a fragment, for DASH timelines', () => {
    expect(initTiming(videoInit)?.timescale).toBe(12800);
    expect(initTiming(audioInit)?.timescale).toBe(48000);
    expect(fragmentTiming(videoSegment)).toEqual({ decodeTime: 0, compositionOffset: 0 });
    expect(fragmentTiming(audioSegment)).toEqual({ decodeTime: 0, compositionOffset: 0 });
  });

  test('the first frame presents where ffprobe puts it: the edit list\'s empty edit delays the video (pts 269 of 1/12800)', () => {
    expect(presentationTime(fragmentTiming(videoSegment)!, initTiming(videoInit)!)).toBe(269);
    expect(presentationTime(fragmentTiming(audioSegment)!, initTiming(audioInit)!)).toBe(0);
  });

  test('fails on a truncated init section, naming the file', () => {
    expect(() => initFacts(videoInit.subarray(0, 200), 'news/720p/init.mp4')).toThrow(CmafError);
    expect(() => initFacts(videoInit.subarray(0, 200), 'news/720p/init.mp4')).toThrow(/^news\/720p\/init\.mp4: /);
  });

  test('fails on bytes that are not MP4, and on a segment given as an init section', () => {
    expect(() => initFacts(Buffer.from('not an mp4 file at all, just text'), 'x')).toThrow(/x: no sample description/);
    expect(() => initFacts(videoSegment, 'seg.m4s')).toThrow(CmafError);
  });

  test('hostile sizes cannot make the walker loop or read outside the buffer', () => {
    // A box claiming to be smaller than its header, one claiming to be larger than the data, and a
    // 64-bit size cut short: the walk stops (or cuts the last box) instead of looping or throwing.
    const tiny = Buffer.from([0, 0, 0, 4, 0x6d, 0x6f, 0x6f, 0x76]);
    expect(boxes(tiny)).toEqual([]);
    const huge = Buffer.concat([Buffer.from([0x7f, 0xff, 0xff, 0xff]), Buffer.from('moof'), Buffer.alloc(8)]);
    expect(boxes(huge).map((b) => [b.type, b.body.length])).toEqual([['moof', 8]]);
    const cut64 = Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('mdat'), Buffer.from([0, 0])]);
    expect(boxes(cut64)).toEqual([]);
    expect(fragmentSampleCount(Buffer.alloc(64))).toBe(0);
    expect(fragmentTiming(Buffer.alloc(3))).toBeUndefined();
  });

  test('boxes are views of the input with their offsets, and paths descend through them', () => {
    const top = boxes(videoSegment).map((b) => b.type);
    expect(top).toEqual(expect.arrayContaining(['moof', 'mdat']));
    const moof = boxes(videoSegment).find((b) => b.type === 'moof')!;
    expect(videoSegment.toString('latin1', moof.offset + 4, moof.offset + 8)).toBe('moof');
    expect(findBox(videoSegment, ['moof', 'traf', 'tfhd'])).toBeDefined();
    expect(findBox(videoSegment, ['moof', 'nope'])).toBeUndefined();
  });
});
