/**
 * The few ISO-BMFF facts DASH timelines need, read from stored CMAF files: the media timescale and
 * edit list of an init section (`mdhd`, `elst`), and the decode time and first composition offset of
 * a fragment (`tfdt`, `trun`). Only box headers and a few fixed fields are read; nothing is decoded.
 *
 * Presentation times are as browsers place samples in Media Source buffers, which is also what
 * ffmpeg writes in its own `sidx` boxes: decode time + composition offset - the `media_time` of the
 * edit list's media edit (ISO/IEC 14496-12 8.6.6; CMAF allows an edit list only as this offset).
 * Empty edits (a start delay on the movie timeline, which ffmpeg adds when its input started late)
 * are not applied: Chromium's MP4 parser skips them, and so do DASH players' timelines. ffmpeg's fMP4
 * starts video at decode time 0 with a first composition offset of a frame or two (B-frames) and a
 * media edit skipping exactly that, so the first frame presents at 0.
 */
import { findBox } from './boxes';

export interface InitTiming {
  /** Media timescale of the first track (`mdhd`). */
  readonly timescale: number;
  /** What the edit list adds to a composition time to give a presentation time (minus its media edit's start), in `timescale` units. */
  readonly presentationShift: number;
}

export interface FragmentTiming {
  /** `baseMediaDecodeTime` of the first track fragment, in the track's timescale. */
  readonly decodeTime: number;
  /** Composition offset of the fragment's first sample (0 when the `trun` carries none). */
  readonly compositionOffset: number;
}

/** Timescale and edit-list shift of the first track of an init section, or undefined without `mdhd`. */
export function initTiming(init: Buffer): InitTiming | undefined {
  const trak = findBox(init, ['moov', 'trak']);
  const mdhd = trak && findBox(trak, ['mdia', 'mdhd']);
  if (!mdhd || mdhd.length < 24) return undefined;
  const timescale = mdhd.readUInt32BE(mdhd[0] === 1 ? 20 : 12);
  if (timescale === 0) return undefined;
  const elst = findBox(trak, ['edts', 'elst']);
  return { timescale, presentationShift: elst ? 0 - mediaEditStart(elst) : 0 };
}

/** Decode time and first composition offset of a media fragment, or undefined without `tfdt`. */
export function fragmentTiming(segment: Buffer): FragmentTiming | undefined {
  const traf = findBox(segment, ['moof', 'traf']);
  const tfdt = traf && findBox(traf, ['tfdt']);
  if (!traf || !tfdt || tfdt.length < 8) return undefined;
  const decodeTime = tfdt[0] === 1 ? Number(tfdt.readBigUInt64BE(4)) : tfdt.readUInt32BE(4);
  return { decodeTime, compositionOffset: firstCompositionOffset(findBox(traf, ['trun'])) };
}

/** Earliest presentation time of a fragment on its track's presentation timeline, in the track's timescale. */
export function presentationTime(fragment: FragmentTiming, init: InitTiming): number {
  return fragment.decodeTime + fragment.compositionOffset + init.presentationShift;
}

/** `media_time` of the edit list's first media edit (empty edits, `media_time` -1, are skipped); 0 without one. */
function mediaEditStart(elst: Buffer): number {
  const version = elst[0];
  const count = elst.length >= 8 ? elst.readUInt32BE(4) : 0;
  const entrySize = version === 1 ? 20 : 12;
  for (let i = 0, at = 8; i < count && at + entrySize <= elst.length; i++, at += entrySize) {
    const mediaTime = version === 1 ? Number(elst.readBigInt64BE(at + 8)) : elst.readInt32BE(at + 4);
    if (mediaTime >= 0) return mediaTime;
  }
  return 0;
}

/** `sample_composition_time_offset` of a `trun`'s first sample (signed in version 1). */
function firstCompositionOffset(trun: Buffer | undefined): number {
  if (!trun || trun.length < 8) return 0;
  const flags = trun.readUInt32BE(0) & 0xffffff;
  if (!(flags & 0x800) || trun.readUInt32BE(4) === 0) return 0;
  let at = 8;
  if (flags & 0x001) at += 4; // data_offset
  if (flags & 0x004) at += 4; // first_sample_flags
  if (flags & 0x100) at += 4; // sample_duration
  if (flags & 0x200) at += 4; // sample_size
  if (flags & 0x400) at += 4; // sample_flags
  if (at + 4 > trun.length) return 0;
  return trun[0] === 1 ? trun.readInt32BE(at) : trun.readUInt32BE(at);
}
