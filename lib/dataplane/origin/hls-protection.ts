/**
 * HLS signalling of `cbcs` common encryption on fMP4 (RFC 8216bis 4.4.4.4): one `EXT-X-KEY` with
 * `METHOD=SAMPLE-AES` per DRM system that plays through HLS, each with the system's `KEYFORMAT` (for
 * ClearKey, `org.w3.clearkey` with the key id in a data URI, as hls.js reads it). The init section
 * is not encrypted (its `tenc` says how the samples are), so no IV and no key applies to EXT-X-MAP.
 */
import { DrmSystemSignalling } from '../keys/key-provider';

/** The EXT-X-KEY lines of `systems`; systems without HLS signalling are left out. */
export function sampleAesKeyLines(systems: readonly DrmSystemSignalling[]): string[] {
  return systems.flatMap(({ hls }) => (hls
    ? [`#EXT-X-KEY:METHOD=${hls.method},URI="${hls.uri}",KEYFORMAT="${hls.keyFormat}",KEYFORMATVERSIONS="${hls.keyFormatVersions}"`]
    : []));
}
