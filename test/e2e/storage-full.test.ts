/**
 * A full disk under a live channel: the account storage is a small tmpfs (40 MiB) that something else
 * fills while an encoder pushes. First to under the ingest's reserve, then to the last byte. The
 * ingest pauses recording (the publisher stays connected), reports StorageFull with the reason in its
 * health and in `livestack status`, lists no truncated segment, keeps serving and keeps every recording
 * whole (each listed segment decodes); once space returns it resumes by itself after a discontinuity.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { incompleteSegment } from '../../lib/dataplane/mp4/boxes';
import { storagePaths } from '../../lib/contract/storage-layout';
import { Manifest } from '../../lib/model/manifest';
import { localPaths } from '../../lib/runtime/drivers/local-records';
import { AccountStatus } from '../../lib/runtime/status';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { eventually } from '../runtime/support/eventually';
import { expectExit, livestack } from '../support/cli';
import { Encoder, SMALL_LADDER, ingestManifest, joinRendition, probeDecoded, readHealth, readPlaylist, rtmpUrl, startEncoder } from './support/ingest-support';

jest.setTimeout(240_000);

const MiB = 1024 * 1024;

describe('a full disk under a live channel', () => {
  let scratch: string;
  let stateDir: string;
  let storage: string;
  let mounted = false;
  let stack: LocalStack | undefined;
  let encoder: Encoder | undefined;
  let manifest: Manifest;

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-full-disk-'));
    stateDir = path.join(scratch, 'state');
    manifest = await ingestManifest([{ name: 'news', encoding: SMALL_LADDER, streamKey: { kind: 'generated', id: 'news-key' }, programs: [{ name: 'live', assetName: 'news-live', state: 'running' }] }], { origin: true });
    storage = localPaths.storageDir(stateDir, manifest.accounts[0].name);
    fs.mkdirSync(storage, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', storage]);
    mounted = true;
  });

  afterAll(async () => {
    encoder?.stop();
    await encoder?.done;
    await stack?.stop().catch(() => undefined);
    if (mounted) execFileSync('umount', ['-l', storage]);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const segments = () => readPlaylist(storage, 'news-live', '180p')?.segments ?? [];
  const freeBytes = () => {
    const stat = fs.statfsSync(storage);
    return stat.bavail * stat.bsize;
  };
  const ingestStatus = () => {
    const status = JSON.parse(fs.readFileSync(path.join(stateDir, 'accounts', manifest.accounts[0].name, 'status.json'), 'utf8')) as AccountStatus;
    return status.workloads.find((w) => w.role === 'ingest')!;
  };
  const degraded = () => ingestStatus().conditions.find((c) => c.type === 'Degraded')!;

  /** Every segment each rendition lists is whole, and the rendition decodes from first to last frame. */
  async function expectRecordingsWhole(): Promise<number> {
    let frames = 0;
    for (const rendition of ['180p', '90p']) {
      const dir = storagePaths.renditionDir(storage, 'news-live', rendition);
      for (const segment of readPlaylist(storage, 'news-live', rendition)!.segments) {
        expect({ segment: segment.uri, problem: incompleteSegment(fs.readFileSync(path.join(dir, segment.uri))) }).toEqual({ segment: segment.uri, problem: undefined });
      }
      const joined = joinRendition(storage, 'news-live', rendition, path.join(scratch, `${rendition}.mp4`));
      frames += (await probeDecoded(joined)).frames;
    }
    return frames;
  }

  test('GIVEN a pushed channel WHEN its storage fills THEN recording pauses with the reason in status, nothing truncated is listed, and it resumes when space returns', async () => {
    stack = await startLocalStack(manifest, { stateDir });
    await stack.waitReady();
    const key = fs.readFileSync(storagePaths.secret(storage, 'news-key'), 'utf8').trim();
    encoder = startEncoder(rtmpUrl(manifest, 'news', key), { seconds: 200 });
    await eventually('five recorded segments', () => (segments().length >= 5 ? true : undefined), 60_000, 200);
    const account = manifest.accounts[0];
    const playlistUrl = `http://127.0.0.1:${account.endpoints[0].port}/${account.locators[0].id}/180p/index.m3u8`;

    // WHEN something else takes the storage down to 4 MiB free (under the reserve of 8 MiB)
    const filler = path.join(storage, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes() - 4 * MiB)));

    // THEN the ingest pauses recording, says so in its health and the controller's status, and keeps its publisher
    const health = await eventually('health to report the paused recording', () => (readHealth(storage, 'news')?.storage?.recordingPaused ? readHealth(storage, 'news') : undefined), 15_000, 200);
    expect(health!.publisherConnected).toBe(true);
    await eventually('status to say StorageFull', () => (degraded().reason === 'StorageFull' ? true : undefined), 15_000, 200);
    expect(degraded().message).toMatch(/storage nearly full: [\d.]+ MiB free of 40\.0 MiB, under the reserve of 8\.0 MiB; recording is paused/);
    const status = await livestack(['status', '--state-dir', stateDir]);
    expectExit(status, 0);
    expect(status.stdout).toMatch(/ingest .*StorageFull .*storage nearly full/);

    // AND while paused no segment is added, the origin still serves what there is, and all of it decodes
    const paused = segments().length;
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(segments().length).toBe(paused);
    expect((await fetch(playlistUrl)).status).toBe(200);
    const framesPaused = await expectRecordingsWhole();
    expect(framesPaused).toBeGreaterThan(0);

    // WHEN the disk fills to the last byte (as a runaway writer would), then space returns
    fs.rmSync(filler);
    await eventually('recording to resume', () => (segments().length > paused + 1 ? true : undefined), 30_000, 200);
    const full = path.join(storage, 'full');
    const fd = fs.openSync(full, 'w');
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(MiB));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    expect(freeBytes()).toBeLessThan(MiB);
    await eventually('status to say StorageFull at 0 bytes free (health rewritten in place)', () => (degraded().reason === 'StorageFull' ? true : undefined), 15_000, 200);
    const stuck = segments().length;
    fs.rmSync(full);

    // THEN recording resumes by itself after a discontinuity, status clears, and everything listed is whole
    await eventually('recording to resume after the disk emptied', () => (segments().length >= stuck + 3 ? true : undefined), 30_000, 200);
    await eventually('Degraded to clear', () => (degraded().status === 'False' ? true : undefined), 15_000, 200);
    expect(segments().slice(stuck).some((s) => s.discontinuity)).toBe(true);
    expect(await expectRecordingsWhole()).toBeGreaterThan(framesPaused);
    expect(readHealth(storage, 'news')!.publisherConnected).toBe(true);
    expect(fs.readdirSync(storagePaths.channelDir(storage, 'news')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
