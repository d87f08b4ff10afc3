/**
 * The few ISO-BMFF facts DASH timelines need, read from stored CMAF files: the media timescale and
 * edit list of an init section (`mdhd`, `elst`), and the decode time and first composition offset of
 * a fragment (`tfdt`, `trun`). Only box headers and a few fixed fields are read; nothing is decoded.
 *
 * Presentation times follow ISO/IEC 14496-12 8.6.1 and 8.6.6, as the DASH-IF timing model places
 * samples on a Representation's sample timeline ("formed after applying any edit lists"): a sample
 * presents at its decode time plus its composition offset, shifted by the edit list (leading empty
 * edits delay the track; the media edit's `media_time` is where presentation starts). ffmpeg's fMP4
 * video starts at decode time 0 with a first composition offset of two frames (B-frames), an empty
 * edit of that length and a media edit from that composition time: the first frame presents at two
 * frames, which is also where Chromium puts it (it ignores edit lists of more than one entry).
 */
import { findBox } from './boxes';

export interface InitTiming {
  /** Media timescale of the first track (`mdhd`). */
  readonly timescale: number;
  /** What the edit list adds to a composition time to give a presentation time, in `timescale` units. */
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
  return { timescale, presentationShift: elst ? editShift(elst, timescale, movieTimescaleOf(init) ?? timescale) : 0 };
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

function movieTimescaleOf(init: Buffer): number | undefined {
  const mvhd = findBox(init, ['moov', 'mvhd']);
  if (!mvhd || mvhd.length < 24) return undefined;
  return mvhd.readUInt32BE(mvhd[0] === 1 ? 20 : 12) || undefined;
}

/**
 * Leading empty edits (`media_time` -1, durations in the movie timescale) delay the track; the first
 * media edit's `media_time` (media timescale) is skipped. Later edits do not move the start.
 */
function editShift(elst: Buffer, timescale: number, movieTimescale: number): number {
  const version = elst[0];
  const count = elst.length >= 8 ? elst.readUInt32BE(4) : 0;
  const entrySize = version === 1 ? 20 : 12;
  let delay = 0;
  for (let i = 0, at = 8; i < count && at + entrySize <= elst.length; i++, at += entrySize) {
    const duration = version === 1 ? Number(elst.readBigUInt64BE(at)) : elst.readUInt32BE(at);
    const mediaTime = version === 1 ? Number(elst.readBigInt64BE(at + 8)) : elst.readInt32BE(at + 4);
    if (mediaTime !== -1) return delay - mediaTime;
    delay += Math.round((duration * timescale) / movieTimescale);
  }
  return delay;
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
