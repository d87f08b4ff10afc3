/**
 * Common encryption (ISO/IEC 23001-7) of the clear CMAF the ingest stores, for the origin to apply
 * on the fly as it does envelope encryption: `cenc` (AES-CTR) for DASH, `cbcs` (AES-CBC, 1:9
 * pattern) for DASH and fMP4 HLS. Pure functions over buffers; keys and signalling come from a
 * `KeyProvider` (lib/dataplane/keys/key-provider.ts).
 *
 * ```ts
 * // once per rendition (cache the result with the init section):
 * const { keys: [{ key }], systems } = await provider.provide({ contentId: locatorId, keyIds: [kid], systemIds: [CLEARKEY_SYSTEM_ID] });
 * const { init, track } = protectInit(clearInit, {
 *   scheme: 'cenc', keyId: kid, psshBoxes: systems.flatMap((s) => (s.pssh ? [s.pssh] : [])),
 * }, `${asset}/${rendition}/init.mp4`);
 * // per segment (cache the result by file stamp):
 * const body = protectFragment(clearSegment, track, { key, firstIv: fragmentIv(keyIdHex, rendition, file, 8) }, where);
 * // cbcs: protectInit(clearInit, { scheme: 'cbcs', keyId: kid, psshBoxes, constantIv: trackConstantIv(keyIdHex, rendition) }, where)
 * //       protectFragment(clearSegment, track, { key }, where)
 * ```
 */
export { CENC_SCHEMES, CencError, CencScheme, Pattern, patternFor, TrackKind } from './scheme';
export { ProtectedTrack, protectInit, TrackProtection } from './protect-init';
export { FragmentKeys, protectFragment } from './protect-fragment';
export { fragmentIv, trackConstantIv } from './iv';
