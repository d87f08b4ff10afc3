/**
 * The few ISO-BMFF facts DASH timelines need, read from stored CMAF files: the media timescale (init
 * section `mdhd`) and the earliest presentation time of a fragment (`sidx`, else the decode time in
 * `tfdt`). Only box headers are walked; nothing is decoded.
 */
import { findBox } from './boxes';

export interface FragmentTime {
  readonly timescale?: number;
  /** Earliest presentation (or decode) time, in `timescale` units when known, else in the track's. */
  readonly time: number;
}

/** Timescale of the first track of an init section, or undefined when it has no `mdhd`. */
export function initTimescale(init: Buffer): number | undefined {
  const mdhd = findBox(init, ['moov', 'trak', 'mdia', 'mdhd']);
  if (!mdhd || mdhd.length < 24) return undefined;
  const version = mdhd[0];
  const offset = version === 1 ? 20 : 12;
  return mdhd.length >= offset + 4 ? mdhd.readUInt32BE(offset) : undefined;
}

/** Start time of a media fragment, or undefined when neither `sidx` nor `tfdt` can be found. */
export function fragmentTime(segment: Buffer): FragmentTime | undefined {
  const sidx = findBox(segment, ['sidx']);
  if (sidx && sidx.length >= 20) {
    const timescale = sidx.readUInt32BE(8);
    const time = sidx[0] === 1 ? Number(sidx.readBigUInt64BE(12)) : sidx.readUInt32BE(12);
    return { timescale, time };
  }
  const tfdt = findBox(segment, ['moof', 'traf', 'tfdt']);
  if (!tfdt || tfdt.length < 8) return undefined;
  return { time: tfdt[0] === 1 ? Number(tfdt.readBigUInt64BE(4)) : tfdt.readUInt32BE(4) };
}
