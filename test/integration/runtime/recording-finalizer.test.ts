/**
 * The controller closes a channel's recordings before it deletes the channel's ingest (a finalizer),
 * on the real local driver. The ingest here is the stand-in of fixtures/fake-workload.js, which never
 * closes anything itself: these tests cover what the controller asks for, and the close from the files
 * when the ingest does not answer in time. test/e2e/channel-finalize.test.ts covers a real ingest.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseMediaPlaylist } from '../../../lib/dataplane/media-playlist';
import { assetDescriptor, storagePaths } from '../../../lib/contract/storage-layout';
import { Manifest } from '../../../lib/model/manifest';
import { Controller } from '../../../lib/runtime/controller';
import { DesiredState, desiredState } from '../../../lib/runtime/desired-state';
import { Driver } from '../../../lib/runtime/drivers/driver';
import { LocalDriver } from '../../../lib/runtime/drivers/local';
import { IngestLiveConfig } from '../../../lib/contract/workload-config';
import { WorkloadSpec } from '../../../lib/contract/workload-spec';
import { createAssetFixture } from '../../../bench/support/asset-fixture';
import { testManifest } from '../../../bench/support/manifest-fixtures';

jest.setTimeout(60_000);

const FAKE = path.join(__dirname, 'fixtures', 'fake-workload.js');
const FINALIZE_TIMEOUT_MS = 500;

function fakeDesired(manifest: Manifest): DesiredState {
  const real = desiredState(manifest, 'test manifest');
  return { ...real, specs: real.specs.map((s): WorkloadSpec => ({ ...s, command: [process.execPath, FAKE] })) };
}

function withChannel(manifest: Manifest, change: Record<string, unknown>): Manifest {
  const copy = structuredClone(manifest);
  Object.assign(copy.accounts[0].channels[0], change);
  return copy;
}

describe('deleting an ingest', () => {
  let stateDir: string;
  let driver: LocalDriver;
  let controller: Controller;
  let manifest: Manifest;
  let storage: string;
  const log: string[] = [];
  const notes: string[] = [];
  /** Live configs the controller delivered (the real driver still delivers them). */
  const delivered: { name: string; live: IngestLiveConfig }[] = [];

  const descriptor = (asset: string) => assetDescriptor.parse(JSON.parse(fs.readFileSync(storagePaths.assetDescriptor(storage, asset), 'utf8')));
  const playlist = (asset: string) => fs.readFileSync(storagePaths.renditionPlaylist(storage, asset, 'r90'), 'utf8');
  const recordingAsset = (asset: string, channel: string) => createAssetFixture({
    storageDir: storage, asset, channel, program: 'live', state: 'recording', durationSeconds: 4,
    video: [{ name: 'r90', width: 160, height: 90, bitrateKbps: 100 }],
  });

  beforeEach(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-finalizer-'));
    driver = new LocalDriver({ stateDir });
    const watched: Driver = {
      kind: 'local',
      observe: () => driver.observe(),
      create: (spec) => driver.create(spec),
      updateLive: async (spec) => {
        delivered.push({ name: spec.name, live: spec.liveConfig as IngestLiveConfig });
        await driver.updateLive(spec);
      },
      runTask: (spec, command, options) => driver.runTask(spec, command, options),
      delete: (name) => driver.delete(name),
      logs: (name, lines) => driver.logs(name, lines),
      storageDir: (account) => driver.storageDir(account),
      close: () => driver.close(),
    };
    log.length = 0;
    notes.length = 0;
    delivered.length = 0;
    controller = new Controller({
      driver: watched, stateDir, log: (line) => log.push(line), finalizeTimeoutMs: FINALIZE_TIMEOUT_MS,
      onAction: (event) => { if (event.type === 'note') notes.push(`${event.action.kind} ${event.action.role}: ${event.note}`); },
    });
    manifest = await testManifest();
    await controller.converge(fakeDesired(manifest), { waitReady: true, timeoutMs: 30_000 });
    storage = await driver.storageDir(manifest.accounts[0].name);
  });

  afterEach(async () => {
    await controller.destroy();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('of a channel declared stopped closes the channel\'s recordings first, and only the channel\'s', async () => {
    // GIVEN the channel's program recording, and an asset another channel records
    await recordingAsset('news-live', 'news');
    await recordingAsset('sport-live', 'sport');
    const segments = parseMediaPlaylist(playlist('news-live'), 'news-live').segments.length;

    // WHEN the channel is declared stopped
    const pass = await controller.converge(fakeDesired(withChannel(manifest, { state: 'stopped' })), { timeoutMs: 30_000 });

    // THEN the plan said so, the ingest was told that its program is stopped, then deleted
    expect(pass.plan.actions.find((a) => a.kind === 'delete')).toMatchObject({ role: 'ingest', reason: expect.stringMatching(/declared stopped .*; finalizes recordings first$/) });
    expect(delivered).toEqual([{ name: expect.stringMatching(/-ingest-news$/), live: { programs: [expect.objectContaining({ name: 'live', state: 'stopped' })] } }]);
    expect((await driver.observe()).map((w) => w.role).sort()).toEqual(['keys', 'origin']);
    // AND the asset it left open (this stand-in never closes one) was closed from its files: video on demand, nothing lost
    expect(descriptor('news-live')).toMatchObject({ state: 'stopped', stoppedAt: expect.any(String) });
    expect(playlist('news-live')).toMatch(/#EXT-X-ENDLIST\n$/);
    expect(parseMediaPlaylist(playlist('news-live'), 'news-live').segments).toHaveLength(segments);
    expect(log).toContainEqual(expect.stringMatching(/^Closed recordings of channel news from their files after deleting ls-\w+-ingest-news: news-live/));
    // AND progress displays (apply, up, destroy) are told, as a note on the delete
    expect(notes).toContainEqual(expect.stringMatching(/^delete ingest: Closed recordings of channel news from their files/));
    // AND the other channel's recording is untouched
    expect(descriptor('sport-live').state).toBe('recording');
    expect(playlist('sport-live')).not.toContain('#EXT-X-ENDLIST');
  });

  test('replaced for a spec change (a new ladder) leaves its recordings open for the new ingest', async () => {
    // GIVEN the channel's program recording
    await recordingAsset('news-live', 'news');

    // WHEN the ladder changes (a replace)
    const next = withChannel(manifest, {
      encoding: { type: 'standard', preset: 'Custom', ladder: [{ name: '180p', width: 320, height: 180, videoBitrateKbps: 250, profile: 'main' }], audioBitrateKbps: 64, speedPreset: 'ultrafast' },
    });
    const pass = await controller.converge(fakeDesired(next), { timeoutMs: 30_000 });

    // THEN the ingest was replaced without a word about its recordings, which stay open
    expect(pass.plan.actions.find((a) => a.role === 'ingest')).toMatchObject({ kind: 'replace', disruptions: ['live-ingest-restarted'] });
    expect(delivered).toEqual([]);
    expect(descriptor('news-live').state).toBe('recording');
    expect(playlist('news-live')).not.toContain('#EXT-X-ENDLIST');
  });

  test('on destroy closes the recordings too', async () => {
    await recordingAsset('news-live', 'news');

    await controller.destroy();

    expect(await driver.observe()).toEqual([]);
    expect(descriptor('news-live').state).toBe('stopped');
    expect(playlist('news-live')).toMatch(/#EXT-X-ENDLIST\n$/);
  });
});
