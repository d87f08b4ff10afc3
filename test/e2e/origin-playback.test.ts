/**
 * Dynamic packaging end to end: the origin (run by the local driver) builds HLS master and media
 * playlists and DASH MPDs from what is stored, for a stopped program (VOD) and for running ones (live,
 * windowed to the archive window), and readers check them: ffmpeg decodes every rendition to the
 * stored frames, and mpd-parser (the DASH parser of video.js) reads the MPDs' segment templates into
 * the URLs the origin serves. (Real players play them in dash-players.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { parse as parseMpd } from 'mpd-parser';
import { storagePaths } from '../../lib/contract/storage-layout';
import { clearPolicy } from '../../bench/support/origin-manifest';
import { decodedFrameDigests, LIVE_INPUT, listStreams, storedFrameDigests } from './support/media-probe';
import { OriginStack, startOriginStack } from '../../bench/support/origin-stack';

jest.setTimeout(180_000);

const VOD = randomUUID();
const LIVE = randomUUID();
const LONG = randomUUID();
const RENDITIONS = ['r180', 'r90', 'audio'];
/** Video of each HLS variant (ffmpeg makes one program per variant), then the audio rendition. */
const MASTER_MAPS = ['0:p:0:v', '0:p:1:v', '0:a:0'];
const ARCHIVE_WINDOW = 300;

let stack: OriginStack;
let stored: Record<string, Record<string, string[]>>;

beforeAll(async () => {
  stack = await startOriginStack({
    programs: [
      { name: 'vod', assetName: 'vod' },
      { name: 'live', assetName: 'live' },
      { name: 'long', assetName: 'long', archiveWindowSeconds: ARCHIVE_WINDOW },
    ],
    deliveryPolicies: [clearPolicy(['hls', 'dash'])],
    locators: [
      { name: 'vod', program: 'vod', deliveryPolicy: 'clear', id: VOD },
      { name: 'live', program: 'live', deliveryPolicy: 'clear', id: LIVE },
      { name: 'long', program: 'long', deliveryPolicy: 'clear', id: LONG },
    ],
    assets: [
      { asset: 'vod', durationSeconds: 10 },
      { asset: 'live', durationSeconds: 10, state: 'recording' },
      // Longer than its archive window, cheap to encode: one small rendition at 10 fps, 6-s segments.
      {
        asset: 'long', durationSeconds: ARCHIVE_WINDOW + 30, segmentSeconds: 6, fps: 10, state: 'recording', archiveWindowSeconds: ARCHIVE_WINDOW,
        video: [{ name: 'r90', width: 160, height: 90, bitrateKbps: 60 }],
      },
    ],
  });
  stored = {};
  for (const asset of ['vod', 'live']) {
    const digests = await Promise.all(RENDITIONS.map((r) => storedFrameDigests(stack.storageDir, asset, r, asset === 'live' ? LIVE_INPUT : [])));
    stored[asset] = Object.fromEntries(RENDITIONS.map((r, i) => [r, digests[i]]));
  }
});

afterAll(async () => {
  await stack?.stop();
});

/** Segment file names of a stored rendition playlist, in order. */
function storedSegments(asset: string, rendition: string): string[] {
  return fs.readFileSync(storagePaths.renditionPlaylist(stack.storageDir, asset, rendition), 'utf8').match(/^seg-\d{5}\.m4s$/gm) ?? [];
}

const text = async (path: string) => {
  const response = await fetch(stack.url(path));
  expect(response.status).toBe(200);
  return response.text();
};

describe('VOD (a stopped program)', () => {
  test('GIVEN a stored asset WHEN the master playlist is asked for THEN it lists each video rendition with its audio group', async () => {
    const master = await text(`/${VOD}/manifest.m3u8`);

    expect(master).toMatch(/^#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",.*URI="audio\/index.m3u8"$/m);
    expect(master).toMatch(/^#EXT-X-STREAM-INF:BANDWIDTH=\d+,.*CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",RESOLUTION=320x180,.*AUDIO="audio"\nr180\/index.m3u8$/m);
    expect(master).toMatch(/RESOLUTION=160x90,.*\nr90\/index.m3u8$/m);
  });

  test('GIVEN a stored asset WHEN a media playlist is asked for THEN it holds every stored segment and ends', async () => {
    const media = await text(`/${VOD}/r180/index.m3u8`);

    expect(media.match(/^seg-\d{5}\.m4s$/gm)).toHaveLength(5);
    expect(media).toContain('#EXT-X-MAP:URI="init_0.mp4"');
    expect(media).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(media.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  test('GIVEN the HLS master WHEN ffmpeg plays it THEN every rendition decodes to exactly the stored frames', async () => {
    const decoded = await decodedFrameDigests(stack.url(`/${VOD}/manifest.m3u8`), { maps: MASTER_MAPS });

    expect(decoded[0]).toHaveLength(250);
    expect(decoded).toEqual(RENDITIONS.map((r) => stored.vod[r]));
  });

  test('GIVEN the DASH MPD WHEN mpd-parser reads it THEN it finds both video representations and the audio, with every segment', async () => {
    const mpd = await text(`/${VOD}/manifest.mpd`);

    const parsed = parseMpd(mpd, { manifestUri: stack.url(`/${VOD}/manifest.mpd`) });

    expect(mpd).toContain('type="static"');
    expect(parsed.duration).toBeCloseTo(10, 1);
    expect(parsed.playlists.map((p) => [p.attributes.NAME, p.attributes.RESOLUTION, p.segments.length])).toEqual([
      ['r180', { width: 320, height: 180 }, 5],
      ['r90', { width: 160, height: 90 }, 5],
    ]);
    // The Period starts at the first video frame: its presentation time (ffmpeg's edit list delays it by
    // an empty edit) is every representation's presentationTimeOffset, each in its own timescale.
    const video = /<SegmentTemplate timescale="12800" presentationTimeOffset="(\d+)" startNumber="0" initialization="r180\/init_0.mp4" media="r180\/init_0\/\$Number\$.m4s">\s*<SegmentTimeline>\s*<S t="(\d+)"/.exec(mpd);
    expect(video).not.toBeNull();
    const [videoOffset, firstFrame] = [Number(video![1]), Number(video![2])];
    expect(videoOffset).toBe(firstFrame);
    const audioOffset = Number(/<SegmentTemplate timescale="48000" presentationTimeOffset="(\d+)"/.exec(mpd)![1]);
    expect(Math.abs(audioOffset / 48000 - videoOffset / 12800)).toBeLessThan(0.001);
    expect(parsed.playlists[0].segments[1].resolvedUri).toBe(stack.url(`/${VOD}/r180/init_0/1.m4s`));
    expect(parsed.playlists[0].segments[0].map?.resolvedUri).toBe(stack.url(`/${VOD}/r180/init_0.mp4`));
    const audio = Object.values(parsed.mediaGroups.AUDIO.audio)[0];
    expect(audio.playlists[0].attributes.CODECS).toBe('mp4a.40.2');
    expect(audio.playlists[0].segments.map((segment) => segment.uri)).toEqual(storedSegments('vod', 'audio').map((_file, n) => `audio/init_2/${n}.m4s`));
  });

  test('GIVEN a DASH segment URL WHEN it is asked for THEN the origin answers the stored segment of that number, and 404 for a number or run it does not hold', async () => {
    const [dash, hls] = await Promise.all([fetch(stack.url(`/${VOD}/r90/init_1/3.m4s`)), fetch(stack.url(`/${VOD}/r90/seg-00003.m4s`))]);
    const [wrongRun, beyond, notANumber] = await Promise.all([
      fetch(stack.url(`/${VOD}/r90/init_0/3.m4s`)), fetch(stack.url(`/${VOD}/r90/init_1/5.m4s`)), fetch(stack.url(`/${VOD}/r90/init_1/x.m4s`)),
    ]);

    expect(dash.status).toBe(200);
    expect(Buffer.from(await dash.arrayBuffer())).toEqual(Buffer.from(await hls.arrayBuffer()));
    expect([wrongRun.status, beyond.status, notANumber.status]).toEqual([404, 404, 404]);
  });

  test('GIVEN the DASH MPD WHEN ffmpeg plays it THEN the video decodes to the stored frames and the audio to them up to the presentation end', async () => {
    const [r180, r90, audio] = await decodedFrameDigests(stack.url(`/${VOD}/manifest.mpd`), { maps: ['0:v:0', '0:v:1', '0:a:0'] });

    expect(r180).toEqual(stored.vod.r180);
    expect(r90).toEqual(stored.vod.r90);
    // The MPD ends at the video's 10.000 s; the last AAC frame reaches 21 ms past it.
    expect(audio.length).toBeGreaterThanOrEqual(stored.vod.audio.length - 1);
    expect(audio).toEqual(stored.vod.audio.slice(0, audio.length));
  });
});

describe('live (a running program)', () => {
  test('GIVEN a recording asset WHEN its media playlist is asked for THEN it is live: no end, short-lived', async () => {
    const response = await fetch(stack.url(`/${LIVE}/r90/index.m3u8`));
    const media = await response.text();

    expect(response.headers.get('cache-control')).toBe('public, max-age=1');
    expect(media).not.toContain('#EXT-X-ENDLIST');
    expect(media).not.toContain('#EXT-X-PLAYLIST-TYPE');
    expect(media.match(/^seg-\d{5}\.m4s$/gm)).toHaveLength(5);
  });

  test('GIVEN the live HLS master WHEN ffmpeg plays it from the start of the window THEN every rendition decodes to the stored frames', async () => {
    const decoded = await decodedFrameDigests(stack.url(`/${LIVE}/manifest.m3u8`), { maps: MASTER_MAPS, inputArgs: LIVE_INPUT });

    expect(decoded).toEqual(RENDITIONS.map((r) => stored.live[r]));
  });

  test('GIVEN the live DASH MPD WHEN ffmpeg and mpd-parser read it THEN both accept a dynamic presentation of every rendition', async () => {
    const mpd = await text(`/${LIVE}/manifest.mpd`);

    const parsed = parseMpd(mpd, { manifestUri: stack.url(`/${LIVE}/manifest.mpd`) });
    const streams = await listStreams(stack.url(`/${LIVE}/manifest.mpd`));

    expect(mpd).toContain('type="dynamic"');
    expect(mpd).toContain(`timeShiftBufferDepth="PT${ARCHIVE_WINDOW}.000S"`);
    // The clock players synchronise with is the time the MPD was sent, not when it was rendered.
    const clock = Date.parse(/<UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="([^"]+)"\/>/.exec(mpd)![1]);
    expect(Math.abs(clock - Date.now())).toBeLessThan(2000);
    expect(parsed.playlists.map((p) => [p.attributes.NAME, p.endList, p.segments.length])).toEqual([['r180', false, 5], ['r90', false, 5]]);
    expect(streams).toEqual([
      { codecType: 'video', width: 320, height: 180 },
      { codecType: 'video', width: 160, height: 90 },
      { codecType: 'audio' },
    ]);
  });

  test('GIVEN a recording longer than its archive window WHEN its playlists are asked for THEN they hold only the newest window', async () => {
    const media = await text(`/${LONG}/r90/index.m3u8`);
    const mpd = await text(`/${LONG}/manifest.mpd`);

    const segments = media.match(/^seg-\d{5}\.m4s$/gm) ?? [];
    const seconds = [...media.matchAll(/^#EXTINF:([\d.]+),$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    // 330 s recorded in 6-s segments: the newest 300 s are segments 5-54.
    expect(segments[0]).toBe('seg-00005.m4s');
    expect(segments[segments.length - 1]).toBe('seg-00054.m4s');
    expect(media).toContain('#EXT-X-MEDIA-SEQUENCE:5');
    expect(seconds).toBeLessThanOrEqual(ARCHIVE_WINDOW + 0.5);
    expect(seconds).toBeGreaterThan(ARCHIVE_WINDOW - 6);
    const mpdSegments = parseMpd(mpd, { manifestUri: stack.url(`/${LONG}/manifest.mpd`) }).playlists[0].segments;
    expect(mpdSegments.map((s) => s.uri)).toEqual(segments.map((s) => `r90/init_0/${Number(s.slice(4, 9))}.m4s`));
  });
});
