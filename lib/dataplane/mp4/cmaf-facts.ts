/**
 * What the origin needs to know about a rendition, read from the transcoder's CMAF files: the RFC 6381
 * codec string, picture size, audio sample rate and channels (init section), and the number of
 * samples in a fragment (for the frame rate). Only box headers and a few fixed fields are read.
 */
import { Box, boxes, childBox, findBox } from './boxes';

export type InitFacts =
  | { readonly type: 'video'; readonly codecs: string; readonly width: number; readonly height: number }
  | { readonly type: 'audio'; readonly codecs: string; readonly sampleRate: number; readonly channels: number };

export class CmafError extends Error {}

/** Codec and format facts of an init section (`ftyp` + `moov` with one track). */
export function initFacts(init: Buffer, where: string): InitFacts {
  const trak = findBox(init, ['moov', 'trak']);
  const stsd = trak && findBox(trak, ['mdia', 'minf', 'stbl', 'stsd']);
  if (!trak || !stsd || stsd.length < 16) throw new CmafError(`${where}: no sample description (moov/trak/.../stsd) in the init section`);
  // stsd: version+flags (4), entry count (4), then the first sample entry box.
  const [entry] = boxes(stsd.subarray(8));
  if (!entry) throw new CmafError(`${where}: empty sample description`);
  switch (entry.type) {
    case 'avc1':
    case 'avc3':
      return videoFacts(entry, trak, where);
    case 'mp4a':
      return audioFacts(entry, where);
    default:
      throw new CmafError(`${where}: sample entry "${entry.type}" is not supported (H.264 video and AAC/MP3 audio are)`);
  }
}

function videoFacts(entry: Box, trak: Buffer, where: string): InitFacts {
  // VisualSampleEntry: 8 bytes SampleEntry, 16 reserved, width (2), height (2), ..., child boxes from byte 78.
  if (entry.body.length < 78) throw new CmafError(`${where}: truncated ${entry.type} sample entry`);
  const avcC = childBox(entry.body.subarray(78), 'avcC');
  if (!avcC || avcC.length < 4) throw new CmafError(`${where}: no avcC box in the ${entry.type} sample entry`);
  // avc1.PPCCLL: profile_idc, constraint flags, level_idc (RFC 6381 section 3.3).
  const codecs = `${entry.type}.${avcC.subarray(1, 4).toString('hex')}`;
  const display = displaySize(trak);
  return {
    type: 'video',
    codecs,
    width: display?.width || entry.body.readUInt16BE(24),
    height: display?.height || entry.body.readUInt16BE(26),
  };
}

/** Presentation size from `tkhd` (16.16 fixed point): what players show, after the pixel aspect ratio. */
function displaySize(trak: Buffer): { width: number; height: number } | undefined {
  const tkhd = childBox(trak, 'tkhd');
  if (!tkhd) return undefined;
  const offset = tkhd[0] === 1 ? 88 : 76;
  if (tkhd.length < offset + 8) return undefined;
  return { width: Math.round(tkhd.readUInt32BE(offset) / 65536), height: Math.round(tkhd.readUInt32BE(offset + 4) / 65536) };
}

function audioFacts(entry: Box, where: string): InitFacts {
  // AudioSampleEntry: 8 bytes SampleEntry, 8 reserved, channelcount (2), samplesize (2), 4 reserved,
  // samplerate (16.16), child boxes from byte 28.
  if (entry.body.length < 28) throw new CmafError(`${where}: truncated mp4a sample entry`);
  const channels = entry.body.readUInt16BE(16);
  const sampleRate = entry.body.readUInt32BE(24) >>> 16;
  const esds = childBox(entry.body.subarray(28), 'esds');
  if (!esds) throw new CmafError(`${where}: no esds box in the mp4a sample entry`);
  return { type: 'audio', codecs: mp4aCodec(esds.subarray(4), where), sampleRate, channels };
}

/** `mp4a.40.<audio object type>` for AAC, `mp4a.<object type>` otherwise (ISO 14496-1 descriptors). */
function mp4aCodec(descriptors: Buffer, where: string): string {
  const es = descriptor(descriptors, 0x03);
  if (!es || es.length < 3) throw new CmafError(`${where}: no ES descriptor in esds`);
  const flags = es[2];
  let offset = 3;
  if (flags & 0x80) offset += 2;
  if (flags & 0x40) offset += 1 + (es[offset] ?? 0);
  if (flags & 0x20) offset += 2;
  const config = descriptor(es.subarray(offset), 0x04);
  if (!config || config.length < 13) throw new CmafError(`${where}: no decoder config descriptor in esds`);
  const objectType = config[0];
  if (objectType !== 0x40) return `mp4a.${objectType.toString(16).toUpperCase().padStart(2, '0')}`;
  const specific = descriptor(config.subarray(13), 0x05);
  if (!specific || specific.length < 1) return 'mp4a.40.2';
  let audioObjectType = specific[0] >> 3;
  if (audioObjectType === 31 && specific.length >= 2) audioObjectType = 32 + (((specific[0] & 0x07) << 3) | (specific[1] >> 5));
  return `mp4a.40.${audioObjectType}`;
}

/** Body of the first descriptor with `tag` at the start of `data` (size in 1-4 bytes of 7 bits). */
function descriptor(data: Buffer, tag: number): Buffer | undefined {
  if (data.length < 2 || data[0] !== tag) return undefined;
  let size = 0;
  let offset = 1;
  for (let i = 0; i < 4 && offset < data.length; i++) {
    const byte = data[offset++];
    size = (size << 7) | (byte & 0x7f);
    if ((byte & 0x80) === 0) break;
  }
  return data.subarray(offset, Math.min(data.length, offset + size));
}

/** Number of samples (frames) in a media segment: the `trun` sample counts of all its fragments. */
export function fragmentSampleCount(segment: Buffer): number {
  let total = 0;
  for (const moof of boxes(segment).filter((b) => b.type === 'moof')) {
    for (const traf of boxes(moof.body).filter((b) => b.type === 'traf')) {
      for (const trun of boxes(traf.body).filter((b) => b.type === 'trun')) {
        if (trun.body.length >= 8) total += trun.body.readUInt32BE(4);
      }
    }
  }
  return total;
}
