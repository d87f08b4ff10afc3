/**
 * The Docker engine restarted under a running stack (docker driver), on a private dockerd of the test's
 * own so the machine's shared engine is never restarted: an encoder pushes, the controller's watch loop
 * runs, then dockerd is stopped (its containers with it) and started again. The runtime reconverges
 * with exactly one container per workload, the channel continues after a discontinuity once the encoder
 * reconnects, every recorded segment stays whole, and the time until playback works again is printed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { incompleteSegment } from '../../lib/dataplane/mp4/boxes';
import { storagePaths } from '../../lib/contract/storage-layout';
import { Manifest } from '../../lib/model/manifest';
import { eventually } from '../runtime/support/eventually';
import { Encoder, joinRendition, probeDecoded, readPlaylist, startEncoder } from '../e2e/support/ingest-support';
import { PREPARE_TIMEOUT_MS, dockerTestManifest, prepareDocker } from './support/docker-env';
import { DockerStack, startDockerStack } from './support/docker-stack';
import { PrivateDockerd, startPrivateDockerd } from './support/private-dockerd';

jest.setTimeout(300_000);

describe('the Docker engine restarted under a running stack', () => {
  let engine: PrivateDockerd | undefined;
  let stack: DockerStack | undefined;
  let encoder: Encoder | undefined;
  let manifest: Manifest;
  let scratch: string;

  beforeAll(async () => {
    const image = await prepareDocker();
    expect(hostBridgeExists()).toBe(true);
    engine = await startPrivateDockerd();
    engine.loadImage(image);
    manifest = await dockerTestManifest(image);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-engine-restart-'));
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    encoder?.stop();
    await encoder?.done;
    await stack?.stop().catch(() => undefined);
    await engine?.destroy();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }, 180_000);

  test('GIVEN a pushed channel WHEN dockerd restarts THEN one container per workload, the channel continues after a discontinuity, recordings are whole', async () => {
    stack = await startDockerStack(manifest, { ...process.env, DOCKER_HOST: engine!.host });
    const account = manifest.accounts[0];
    const storage = await stack.driver.storageDir(account.name);
    const rendition = account.channels[0].encoding.type === 'standard' ? account.channels[0].encoding.ladder[0].name : 'source';
    const segments = () => readPlaylist(storage, 'news-live', rendition)?.segments ?? [];
    const keyFile = storagePaths.secret(storage, 'news-key');
    const key = await eventually('the generated stream key', () => (fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : undefined), 60_000, 200);
    const push = () => startEncoder(`rtmp://127.0.0.1:${account.channels[0].port}/live/${key}`, { seconds: 240 });
    encoder = push();
    await eventually('three recorded segments', () => (segments().length >= 3 ? true : undefined), 90_000, 250);
    const playlistUrl = `http://127.0.0.1:${account.endpoints[0].port}/${account.locators[0].id}/${rendition}/index.m3u8`;
    const names = stack.desired.specs.map((s) => s.name).sort();
    const containers = async () => (await engine!.docker.listContainers({ all: true })).map((c) => c.Names[0].replace(/^\//, '')).sort();
    expect(await containers()).toEqual(names);
    const before = segments().length;

    // WHEN the engine restarts (its containers stop with it)
    const restartedAt = Date.now();
    await engine!.restart();

    // THEN the shared engine's bridge is untouched (a private dockerd with `--bridge none` deleted it, and every later `docker build` failed)
    expect(hostBridgeExists()).toBe(true);

    // AND playback works again (the encoder reconnects as OBS would), and the time it took is printed
    const playing = await eventually('new segments served through the origin after the restart', async () => {
      if (encoder!.process.exitCode !== null || encoder!.process.signalCode !== null) encoder = push();
      const response = await fetch(playlistUrl, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      if (!response?.ok) return undefined;
      const text = await response.text();
      return segments().length > before + 1 && text.includes('#EXT-X-DISCONTINUITY') ? Date.now() : undefined;
    }, 180_000, 500);
    process.stdout.write(`docker engine restart: playback with new segments again ${((playing - restartedAt) / 1000).toFixed(1)} s after dockerd was told to stop\n`);

    // AND the controller reconverged: nothing left to do, exactly one container per workload, all running
    await eventually('a plan with nothing to do', async () => (!(await stack!.controller.plan(stack!.desired)).plan.hasChanges ? true : undefined), 60_000, 1_000);
    expect(await containers()).toEqual(names);
    const states = await Promise.all(names.map(async (n) => (await engine!.docker.getContainer(n).inspect()).State.Running));
    expect(states.every(Boolean)).toBe(true);

    // AND the recording continues after exactly the discontinuities of the interruption, every listed segment whole and decodable
    const recorded = segments();
    expect(recorded.slice(before).some((s) => s.discontinuity)).toBe(true);
    const dir = storagePaths.renditionDir(storage, 'news-live', rendition);
    for (const segment of recorded) expect({ uri: segment.uri, problem: incompleteSegment(fs.readFileSync(path.join(dir, segment.uri))) }).toEqual({ uri: segment.uri, problem: undefined });
    const decoded = await probeDecoded(joinRendition(storage, 'news-live', rendition, path.join(scratch, 'joined.mp4')));
    expect(decoded.frames).toBeGreaterThan(recorded.length * 10);
  });
});

/** The shared engine's default bridge, which its builds and `docker run` attach to. */
function hostBridgeExists(): boolean {
  return fs.existsSync('/sys/class/net/docker0');
}
