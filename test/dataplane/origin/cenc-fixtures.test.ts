/**
 * The common-encryption packager on ffmpeg's own fMP4 (test/fixtures/cmaf: 1 s of 160x90 H.264 and
 * stereo AAC, as the transcoder writes them), without running anything: each scheme's output is
 * decrypted by the spec-written test decrypter (test/support/cenc-decrypter.ts, no code shared with
 * the packager) back to the clear samples, byte for byte. The ffmpeg-decoded proof over every
 * rendition of a real ladder is test/integration/dataplane/origin/cenc-packager.test.ts.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commonPsshBox } from '../../../lib/dataplane/mp4/pssh';
import { CencError, CencScheme, fragmentIv, protectFragment, protectInit, trackConstantIv } from '../../../lib/dataplane/origin/cenc';
import { decryptSegment, readTrackEncryption, sampleBytes } from '../../support/cenc-decrypter';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'cmaf', name));
const TRACKS = [
  { kind: 'video', init: fixture('video-init.mp4'), segment: fixture('video-segment.m4s'), samples: 25 },
  { kind: 'audio', init: fixture('audio-init.mp4'), segment: fixture('audio-segment.m4s'), samples: 47 },
] as const;
const VARIANTS: { label: string; scheme: CencScheme; ivSize?: 8 | 16 }[] = [
  { label: 'cenc, 8-byte IVs', scheme: 'cenc' },
  { label: 'cenc, 16-byte IVs', scheme: 'cenc', ivSize: 16 },
  { label: 'cbcs', scheme: 'cbcs' },
];

const key = randomBytes(16);
const keyId = randomBytes(16);
const kidHex = keyId.toString('hex');

function protect(track: (typeof TRACKS)[number], variant: (typeof VARIANTS)[number]) {
  const { init, track: protectedTrack } = protectInit(track.init, {
    scheme: variant.scheme,
    keyId,
    psshBoxes: [commonPsshBox([keyId])],
    perSampleIvSize: variant.ivSize,
    constantIv: variant.scheme === 'cbcs' ? trackConstantIv(kidHex, track.kind) : undefined,
  }, `${track.kind}/init.mp4`);
  const firstIv = protectedTrack.perSampleIvSize ? fragmentIv(kidHex, track.kind, 'seg-0.m4s', protectedTrack.perSampleIvSize) : undefined;
  return { init, track: protectedTrack, segment: protectFragment(track.segment, protectedTrack, { key, firstIv }, `${track.kind}/seg-0.m4s`) };
}

describe.each(VARIANTS)('$label', (variant) => {
  test.each(TRACKS)('GIVEN the $kind fixture protected WHEN the test decrypter reads it THEN every sample decrypts to the clear bytes and every sample of 32 bytes or more is changed', (track) => {
    const { init, segment } = protect(track, variant);

    const { clear, samples } = decryptSegment(segment, readTrackEncryption(init), key);

    expect(samples).toHaveLength(track.samples);
    expect(sampleBytes(clear).equals(sampleBytes(track.segment))).toBe(true);
    const encrypted = sampleBytes(segment);
    const plain = sampleBytes(track.segment);
    const changedSamples = samples.filter((s) => !encrypted.subarray(s.offset - samples[0].offset, s.offset - samples[0].offset + s.size)
      .equals(plain.subarray(s.offset - samples[0].offset, s.offset - samples[0].offset + s.size)));
    expect(changedSamples.length).toBe(samples.filter((s) => s.size >= 32).length);
  });
});

describe('bad input', () => {
  test('fails on a truncated segment, saying which box claims more than there is', () => {
    const { track } = protect(TRACKS[0], VARIANTS[0]);
    const cut = TRACKS[0].segment.subarray(0, 1000);

    expect(() => protectFragment(cut, track, { key, firstIv: Buffer.alloc(8) }, 'seg-0.m4s')).toThrow(new CencError('seg-0.m4s: box "mdat" at offset 280 claims 13214 bytes; 720 remain in its parent'));
  });

  test('fails on bytes after the last box that do not form one', () => {
    const { track } = protect(TRACKS[1], VARIANTS[0]);

    expect(() => protectFragment(Buffer.concat([TRACKS[1].segment, Buffer.from([0, 0, 0])]), track, { key, firstIv: Buffer.alloc(8) }, 'seg-0.m4s'))
      .toThrow(new CencError(`seg-0.m4s: 3 byte(s) at offset ${TRACKS[1].segment.length} do not form a box`));
  });

  test('fails on an init section with no track', () => {
    const init = Buffer.from(TRACKS[0].init);
    init.write('free', init.indexOf('trak'), 'latin1');

    expect(() => protectInit(init, { scheme: 'cenc', keyId, psshBoxes: [] }, 'video/init.mp4')).toThrow(new CencError('video/init.mp4: the init section has 0 tracks; a CMAF track file has exactly 1'));
  });
});
