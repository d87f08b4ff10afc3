/**
 * Rendering HLS for a locator from stored assets: the master playlist (one EXT-X-STREAM-INF per video
 * rendition, audio as an EXT-X-MEDIA group) and media playlists (windowed, optionally with AES-128
 * or SAMPLE-AES EXT-X-KEY tags). Output carries TOKEN_SLOT where a player's `token` query parameter is carried on,
 * so one rendering serves every player.
 */
import { AssetDescriptor, StoredRendition } from '../../contract/storage-layout';
import { StoredPlaylist, StoredSegment } from '../media-playlist';

/** Placeholder for `?token=...` (or nothing); a control character no URI or tag can contain. */
export const TOKEN_SLOT = '\u0001';

const AUDIO_GROUP = 'audio';

/** The master playlist of an asset; media playlists are at `<rendition>/index.m3u8`. */
export function renderMaster(asset: AssetDescriptor): string {
  const video = asset.renditions.filter((r) => r.type === 'video');
  const audio = asset.renditions.find((r) => r.type === 'audio');
  const out = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (audio) {
    const channels = audio.channels ? `,CHANNELS="${audio.channels}"` : '';
    out.push(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${AUDIO_GROUP}",NAME="${audio.name}",DEFAULT=YES,AUTOSELECT=YES${channels},URI="${audio.name}/index.m3u8${TOKEN_SLOT}"`);
  }
  for (const rendition of video) {
    out.push(streamInf(rendition, audio), `${rendition.name}/index.m3u8${TOKEN_SLOT}`);
  }
  if (video.length === 0 && audio) {
    out.push(streamInf(audio, undefined), `${audio.name}/index.m3u8${TOKEN_SLOT}`);
  }
  return `${out.join('\n')}\n`;
}

function streamInf(rendition: StoredRendition, audio: StoredRendition | undefined): string {
  const attributes = [`BANDWIDTH=${rendition.bandwidth + (audio?.bandwidth ?? 0)}`];
  if (rendition.averageBandwidth) attributes.push(`AVERAGE-BANDWIDTH=${rendition.averageBandwidth + (audio?.averageBandwidth ?? audio?.bandwidth ?? 0)}`);
  attributes.push(`CODECS="${[rendition.codecs, audio?.codecs].filter(Boolean).join(',')}"`);
  if (rendition.width && rendition.height) attributes.push(`RESOLUTION=${rendition.width}x${rendition.height}`);
  if (rendition.frameRate) attributes.push(`FRAME-RATE=${rendition.frameRate.toFixed(3)}`);
  if (audio) attributes.push(`AUDIO="${AUDIO_GROUP}"`);
  return `#EXT-X-STREAM-INF:${attributes.join(',')}`;
}

export interface EnvelopeTags {
  /** Key URI without the token (the key service URL of the content key). */
  readonly keyUri: string;
  /** IV of a file of this rendition, as `0x` + 32 hex digits. */
  ivFor(file: string): string;
}

/** What the opening tags of the segments before carried over: the init section in effect. */
export interface OpeningState {
  map?: string;
}

/**
 * The tags before a segment (or before its first part): EXT-X-DISCONTINUITY (not on the playlist's
 * first), EXT-X-MAP when the init section changes, EXT-X-KEY when encrypted, EXT-X-PROGRAM-DATE-TIME.
 */
export function openingTags(
  segment: Pick<StoredSegment, 'discontinuity' | 'mapUri' | 'uri' | 'programDateTimeMs'>,
  first: boolean,
  state: OpeningState,
  envelope?: EnvelopeTags,
): string[] {
  const out: string[] = [];
  const key = (file: string) => `#EXT-X-KEY:METHOD=AES-128,URI="${envelope!.keyUri}${TOKEN_SLOT}",IV=${envelope!.ivFor(file)}`;
  if (segment.discontinuity && !first) out.push('#EXT-X-DISCONTINUITY');
  if (segment.mapUri && segment.mapUri !== state.map) {
    state.map = segment.mapUri;
    // The init section is encrypted too, under its own IV (RFC 8216bis: IV required for an encrypted EXT-X-MAP).
    if (envelope) out.push(key(state.map));
    out.push(`#EXT-X-MAP:URI="${state.map}"`);
  }
  if (envelope) out.push(key(segment.uri));
  if (segment.programDateTimeMs !== undefined) out.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTimeMs).toISOString()}`);
  return out;
}

/**
 * A media playlist for players: what is stored (already windowed), with key tags when encrypted:
 * per segment for envelope encryption (each file has its IV), or `sampleAesKeys` once before the first
 * segment for common encryption (`cbcs`: the key tags of hls-protection.ts hold for every segment).
 */
export function renderMediaPlaylist(playlist: StoredPlaylist, envelope?: EnvelopeTags, sampleAesKeys: readonly string[] = []): string {
  const segments = playlist.segments;
  const longest = segments.reduce((max, s) => Math.max(max, s.durationSeconds), 0);
  const first = segments[0];
  const out = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${Math.max(playlist.targetDurationSeconds, Math.round(longest), 1)}`,
    `#EXT-X-MEDIA-SEQUENCE:${first?.sequence ?? 0}`,
  ];
  if (first && first.discontinuitySequence > 0) out.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${first.discontinuitySequence}`);
  if (playlist.endList) out.push('#EXT-X-PLAYLIST-TYPE:VOD');
  out.push('#EXT-X-INDEPENDENT-SEGMENTS', ...sampleAesKeys);
  const tags: OpeningState = {};
  for (const segment of segments) {
    out.push(...openingTags(segment, segment === first, tags, envelope));
    out.push(`#EXTINF:${segment.durationSeconds.toFixed(6)},`, segment.uri);
  }
  if (playlist.endList) out.push('#EXT-X-ENDLIST');
  return `${out.join('\n')}\n`;
}
