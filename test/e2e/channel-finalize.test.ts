/**
 * What happens to a channel's recordings when its ingest goes, end to end on the real controller and
 * local driver with a real encoder: a replaced ingest (a new ladder) continues them after a
 * discontinuity; a channel declared stopped has them closed (EXT-X-ENDLIST, state stopped) by its
 * ingest before the ingest is deleted, and the origin then serves them as video on demand.
 */
import { servedLocatorId } from '../support/locator-ids';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Encoding, Manifest } from '../../lib/model/manifest';
import { storagePaths } from '../../lib/contract/storage-layout';
import { desiredState } from '../../lib/runtime/desired-state';
import { FINALIZE_TIMEOUT_MS } from '../../lib/runtime/recording-finalizer';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { eventually } from '../runtime/support/eventually';
import {
  Encoder, ingestManifest, readDescriptor, readPlaylist, readPlaylistText, rtmpUrl, startEncoder, tearDown,
} from './support/ingest-support';

const ladder = (kbps: number): Encoding => ({
  type: 'standard', preset: 'Custom', audioBitrateKbps: 64, speedPreset: 'superfast',
  ladder: [{ name: '90p', width: 160, height: 90, videoBitrateKbps: kbps, profile: 'baseline' }],
});
const ASSET = 'news-live';

let manifest: Manifest;
let stack: LocalStack;
let storage: string;
let scratch: string;
let key: string;
let encoder: Encoder;

const uris = () => readPlaylist(storage, ASSET, '90p')?.segments.map((s) => s.uri) ?? [];
const withChannel = (base: Manifest, change: Record<string, unknown>): Manifest => {
  const copy = structuredClone(base);
  Object.assign(copy.accounts[0].channels[0], change);
  return copy;
};

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'channel-finalize-e2e-'));
  manifest = await ingestManifest([{
    name: 'news', encoding: ladder(120), streamKey: { kind: 'generated', id: 'news-key' },
    programs: [{ name: 'live', assetName: ASSET, state: 'running' }],
  }], { origin: true });
  stack = await startLocalStack(manifest);
  await stack.waitReady(30_000);
  storage = stack.storageDir(manifest.accounts[0].name);
  key = fs.readFileSync(storagePaths.secret(storage, 'news-key'), 'utf8').trim();
}, 90_000);

afterAll(() => tearDown(stack, scratch), 60_000);

describe('a channel\'s recordings when its ingest goes', () => {
  it('continue after a discontinuity when the ingest is replaced for a new ladder', async () => {
    // GIVEN the program recording a published stream
    encoder = startEncoder(rtmpUrl(manifest, 'news', key), { seconds: 40 });
    await eventually('two segments', () => (uris().length >= 2 ? true : undefined), 20_000, 100);

    // WHEN the ladder changes: the ingest is replaced
    const next = withChannel(manifest, { encoding: ladder(100) });
    const planned = await stack.controller.plan(desiredState(next, 'new ladder'));
    await stack.apply(next);
    manifest = next;

    // THEN the plan was a replace that restarts live ingest, not a delete
    expect(planned.plan.actions.find((a) => a.role === 'ingest')).toMatchObject({ kind: 'replace', disruptions: ['live-ingest-restarted'] });
    // AND the recording stayed open through the replace
    expect(readDescriptor(storage, ASSET)!.state).toBe('recording');
    expect(readPlaylistText(storage, ASSET, '90p')).not.toContain('#EXT-X-ENDLIST');
    const before = uris();

    // WHEN the encoder publishes again to the new ingest
    encoder.stop();
    await encoder.done;
    await stack.waitReady(30_000);
    encoder = startEncoder(rtmpUrl(manifest, 'news', key), { seconds: 40 });
    await eventually('new segments', () => (uris().length >= before.length + 2 ? true : undefined), 20_000, 100);

    // THEN the asset continues: everything recorded before, then a discontinuity, still live
    const after = readPlaylist(storage, ASSET, '90p')!;
    expect(after.segments.slice(0, before.length).map((s) => s.uri)).toEqual(before);
    expect(after.segments[before.length].discontinuity).toBe(true);
    expect(after.endList).toBe(false);
  }, 60_000);

  it('are closed by the ingest before it is deleted when the channel is declared stopped; the origin serves them as VOD', async () => {
    // GIVEN the program recording a published stream (from the previous test)
    const count = uris().length;
    await eventually('one more segment', () => (uris().length > count ? true : undefined), 10_000, 100);

    // WHEN the channel is declared stopped
    const stopped = withChannel(manifest, { state: 'stopped' });
    const planned = await stack.controller.plan(desiredState(stopped, 'channel stopped'));
    const applyStarted = Date.now();
    await stack.apply(stopped);

    // THEN the plan said the delete finalizes recordings first
    expect(planned.plan.actions.find((a) => a.role === 'ingest')).toMatchObject({ kind: 'delete', reason: expect.stringMatching(/declared stopped .*; finalizes recordings first$/) });
    // AND once apply returns, the ingest is gone and the asset is closed: the ingest closed it, well within the bound
    expect((await stack.driver.observe()).map((w) => w.role)).not.toContain('ingest');
    const descriptor = readDescriptor(storage, ASSET)!;
    expect(descriptor.state).toBe('stopped');
    expect(Date.parse(descriptor.stoppedAt!) - applyStarted).toBeLessThan(FINALIZE_TIMEOUT_MS);
    expect(readPlaylistText(storage, ASSET, '90p')).toMatch(/#EXT-X-ENDLIST\n$/);
    expect(readPlaylist(storage, ASSET, '90p')!.segments.length).toBeGreaterThan(count);
    // AND the origin serves the asset as video on demand
    const { endpoints, locators } = manifest.accounts[0];
    const master = `http://127.0.0.1:${endpoints[0].port}/${servedLocatorId(storage, manifest.accounts[0], locators[0])}/index.m3u8`;
    const masterText = await (await fetch(master, { signal: AbortSignal.timeout(5_000) })).text();
    const media = masterText.split('\n').find((line) => line !== '' && !line.startsWith('#'))!;
    const response = await fetch(new URL(media, master), { signal: AbortSignal.timeout(5_000) });
    expect(response.status).toBe(200);
    const mediaText = await response.text();
    expect(mediaText).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(mediaText).toMatch(/#EXT-X-ENDLIST\n?$/);
  }, 60_000);
});
