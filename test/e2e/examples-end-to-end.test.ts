/**
 * The examples end to end, through every workload they declare: an encoder publishes to the channel's
 * ingest (nginx-rtmp + ffmpeg, the Default720p ladder), the program records, and players read through
 * the origin and the key service. The apps are synthesized as `cdktf synth` would, and their manifests run
 * on the local driver. Uses the examples' fixed ports.
 */
import { servedLocatorId } from '../support/locator-ids';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseMpd } from 'mpd-parser';
import { storagePaths } from '../../lib/contract/storage-layout';
import { Manifest } from '../../lib/model/manifest';
import { loadApp } from '../../lib/runtime/desired-state';
import { livestack, ROOT } from '../support/cli';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { eventually } from '../runtime/support/eventually';
import { decodedFrameDigests, listStreams, probe } from './support/media-probe';

jest.setTimeout(300_000);

const run = promisify(execFile);
const LADDER = ['720p', '540p', '360p'];
/** Video of each HLS variant (one program each), then the audio rendition. */
const MASTER_MAPS = ['0:p:0:v', '0:p:1:v', '0:p:2:v', '0:a:0'];
/** A live playlist from its first segment, 6 s of it: enough to decode every rendition without waiting on reloads. */
const LIVE_SIX_SECONDS = ['-live_start_index', '0', '-t', '6'];

async function manifestOf(example: string): Promise<Manifest> {
  return (await loadApp(path.join(ROOT, 'examples', example, 'main.ts'))).manifest;
}

/** Publish `seconds` of a small lavfi test stream (video + audio) and wait for the encoder to finish. */
async function publish(url: string, seconds: number): Promise<void> {
  await run('ffmpeg', [
    '-hide_banner', '-nostdin', '-v', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'aac', '-f', 'flv', url,
  ], { timeout: (seconds + 30) * 1000, killSignal: 'SIGKILL' });
}

/** Until every rendition of the asset has at least `count` segments in storage. */
async function recorded(stack: LocalStack, account: string, asset: string, renditions: string[], count: number): Promise<void> {
  const storage = stack.storageDir(account);
  await eventually(`${count} recorded segments of every rendition of ${asset}`, () => {
    const counts = renditions.map((r) => {
      try {
        return (fs.readFileSync(storagePaths.renditionPlaylist(storage, asset, r), 'utf8').match(/#EXTINF/g) ?? []).length;
      } catch {
        return 0;
      }
    });
    return counts.every((c) => c >= count) ? true : undefined;
  }, 90_000, 500);
}

describe('examples/basic end to end', () => {
  let stack: LocalStack;
  let manifest: Manifest;
  let base: string;

  beforeAll(async () => {
    manifest = await manifestOf('basic');
    stack = await startLocalStack(manifest);
    await stack.waitReady();
    const account = manifest.accounts[0];
    const key = fs.readFileSync(storagePaths.secret(stack.storageDir(account.name), account.channels[0].streamKey.id), 'utf8').trim();
    await publish(`rtmp://127.0.0.1:${account.channels[0].port}/live/${key}`, 12);
    await recorded(stack, account.name, 'news-live', [...LADDER, 'audio'], 2);
    base = `http://127.0.0.1:${account.endpoints[0].port}/${servedLocatorId(stack.storageDir(account.name), account, account.locators[0])}`;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  test('ffmpeg reading the HLS master through the origin decodes every rendition of the ladder and the audio', async () => {
    const streams = await listStreams(`${base}/manifest.m3u8`);
    const decoded = await decodedFrameDigests(`${base}/manifest.m3u8`, { maps: MASTER_MAPS, inputArgs: LIVE_SIX_SECONDS });

    expect(streams.filter((s) => s.codecType === 'video').map((s) => `${s.width}x${s.height}`)).toEqual(['1280x720', '960x540', '640x360']);
    for (const frames of decoded) expect(frames.length).toBeGreaterThanOrEqual(50);
    // The renditions carry the same pictures: as many frames each.
    expect(new Set(decoded.slice(0, 3).map((f) => f.length)).size).toBe(1);
  });

  test('the DASH MPD is accepted by ffmpeg and by a DASH parser', async () => {
    const text = await (await fetch(`${base}/manifest.mpd`)).text();
    const parsed = parseMpd(text, { manifestUri: `${base}/manifest.mpd` });
    const streams = await listStreams(`${base}/manifest.mpd`);

    expect(parsed.playlists.map((p) => p.attributes.RESOLUTION)).toEqual(expect.arrayContaining([
      { width: 1280, height: 720 }, { width: 960, height: 540 }, { width: 640, height: 360 },
    ]));
    expect(Object.keys(parsed.mediaGroups.AUDIO)).not.toHaveLength(0);
    expect(streams.filter((s) => s.codecType === 'video')).toHaveLength(3);
    expect(streams.filter((s) => s.codecType === 'audio')).toHaveLength(1);
  });
});

describe('examples/protected end to end', () => {
  const env = { ...process.env, TF_VAR_jwt_secret: randomBytes(32).toString('hex'), TF_VAR_stream_key: `key-${randomBytes(12).toString('hex')}` };
  let stack: LocalStack;
  let base: string;
  let token: string;

  beforeAll(async () => {
    const manifest = await manifestOf('protected');
    stack = await startLocalStack(manifest, { env });
    await stack.waitReady();
    const account = manifest.accounts[0];
    await publish(`rtmp://127.0.0.1:${account.channels[0].port}/live/${env.TF_VAR_stream_key}`, 12);
    await recorded(stack, account.name, 'match-live', [...LADDER, 'audio'], 2);
    base = `http://127.0.0.1:${account.endpoints[0].port}/${servedLocatorId(stack.storageDir(account.name), account, account.locators[0])}`;
    const minted = await livestack(['token', '--app', 'examples/protected/main.ts', '--ttl', '600'], { env });
    if (minted.code !== 0) throw new Error(`livestack token failed: ${minted.stderr}`);
    token = minted.stdout.trim();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  test('with a token in the Authorization header, ffmpeg decodes every rendition', async () => {
    const decoded = await decodedFrameDigests(`${base}/manifest.m3u8`, {
      maps: MASTER_MAPS, inputArgs: [...LIVE_SIX_SECONDS, '-headers', `Authorization: Bearer ${token}\r\n`],
    });

    for (const frames of decoded) expect(frames.length).toBeGreaterThanOrEqual(50);
  });

  test('with the token as a query parameter (as Safari plays it), ffmpeg decodes every rendition', async () => {
    const decoded = await decodedFrameDigests(`${base}/manifest.m3u8?token=${token}`, { maps: MASTER_MAPS, inputArgs: LIVE_SIX_SECONDS });

    for (const frames of decoded) expect(frames.length).toBeGreaterThanOrEqual(50);
  });

  test('without a token the key is refused and the segments do not decode: they really are encrypted', async () => {
    const media = await (await fetch(`${base}/720p/index.m3u8`)).text();
    const keyUri = /#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/.exec(media)![1];
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(media)![1];
    const segment = media.split('\n').find((line) => line.endsWith('.m4s'))!;

    const key = await fetch(keyUri);
    expect(key.status).toBe(401);
    // A player without the key has the served bytes only: the init section and a segment, as served.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-encrypted-'));
    const served = path.join(scratch, 'served.mp4');
    const bytes = Buffer.concat(await Promise.all([init, segment].map(async (file) => Buffer.from(await (await fetch(`${base}/720p/${file}`)).arrayBuffer()))));
    fs.writeFileSync(served, bytes);
    const stored = storagePaths.renditionDir(stack.storageDir('premium'), 'match-live', '720p');
    expect(bytes.equals(Buffer.concat([init, segment].map((file) => fs.readFileSync(path.join(stored, file)))))).toBe(false);
    expect((await probe(served)).ok).toBe(false);
    fs.rmSync(scratch, { recursive: true, force: true });
  });
});

describe('examples/kubernetes', () => {
  test('does not run on the local driver: refused by name before anything starts (its proof is schema validation, equivalence and plans)', async () => {
    const manifest = await manifestOf('kubernetes');
    await expect(startLocalStack(manifest)).rejects.toThrow(/account studio runs on Kubernetes \(Platform\.kubernetes\(\)\): the local driver cannot run it/);
  });
});
