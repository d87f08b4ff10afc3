/**
 * The docker driver's runtime image: built from images/Dockerfile when the engine lacks it, or a
 * terminal error saying how to build it when that fails (nothing is created then).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { topology } from '../../lib/topology';
import { WorkloadSpec } from '../../lib/contract/workload-spec';
import { DockerDriver } from '../../lib/runtime/drivers/docker';
import { isTerminal } from '../../lib/runtime/errors';
import { demuxLogs } from '../../lib/runtime/drivers/docker-logs';
import { packLivestack, unpackLivestack } from '../support/packed-livestack';
import { PREPARE_TIMEOUT_MS, dockerTestManifest, prepareDocker, removeAccounts } from './support/docker-env';

jest.setTimeout(300_000);

/** The base image scripts/docker-env.sh builds here (no registry is reachable). */
const LOCAL_BASE = 'livestack/base:bookworm-node20';

/** `ls -A` of a folder inside an image. */
async function listing(image: string, folder: string): Promise<string[]> {
  const docker = new Docker();
  const container = await docker.createContainer({ Image: image, Cmd: ['ls', '-A', folder] });
  try {
    await container.start();
    await container.wait();
    const body = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    return demuxLogs(body).split('\n').filter((line) => line !== '').sort();
  } finally {
    await container.remove({ force: true });
  }
}

describe('DockerDriver runtime image', () => {
  const docker = new Docker();
  const tag = `livestack/runtime:image-test-${randomBytes(4).toString('hex')}`;
  let stateDir: string;
  let keys: WorkloadSpec;

  beforeAll(async () => {
    await prepareDocker();
    const manifest = await dockerTestManifest(tag, { channelState: 'stopped' });
    keys = topology(manifest).find((s) => s.role === 'keys')!;
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-docker-image-'));
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    if (keys) await removeAccounts(docker, [keys.account]);
    await docker.getImage(tag).remove().catch(() => undefined);
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('fails with a terminal error saying how to build the image when building it fails, and creates nothing', async () => {
    // GIVEN a missing image whose base image (in the app) is nowhere to be found
    const driver = new DockerDriver({ stateDir });

    // WHEN a workload of that image is created
    const error = await driver.create({ ...keys, imageBuild: { baseImage: 'livestack/no-such-base:missing' } }).catch((e: unknown) => e);
    await driver.close();

    // THEN the error is terminal, names the image and says how to build it
    expect(isTerminal(error)).toBe(true);
    expect((error as Error).message).toContain(`image ${tag}: it is missing and building it from images/Dockerfile on livestack/no-such-base:missing failed`);
    expect((error as Error).message).toContain(`LIVESTACK_BASE_IMAGE=${LOCAL_BASE}`);
    // AND no container was created
    await expect(docker.getContainer(keys.name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  test('builds a missing image from images/Dockerfile on the base the app names and runs the workload on it', async () => {
    // GIVEN a missing image and the local base image
    await expect(docker.getImage(tag).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const lines: string[] = [];
    const driver = new DockerDriver({ stateDir }, { log: (line) => lines.push(line) });

    // WHEN a workload of that image is created
    await driver.create({ ...keys, imageBuild: { baseImage: LOCAL_BASE } });
    await driver.close();

    // THEN the image was built (its progress said so) and the workload's container runs it
    expect(lines).toEqual([expect.stringMatching(/^Building image .* on livestack\/base:bookworm-node20/), expect.stringMatching(/^Built image .* in [\d.]+ s$/)]);
    const image = await docker.getImage(tag).inspect();
    const container = await docker.getContainer(keys.name).inspect();
    expect(container.Image).toBe(image.Id);
    // AND the image holds what the Dockerfile copies from the context .dockerignore lets through
    // (and the SRT listener its build stage compiled: build/native)
    expect(await listing(tag, '/opt/livestack')).toEqual(['bin', 'build', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
    // AND it says what it was built on
    expect(image.Config.Labels?.['livestack.base-image']).toBe(LOCAL_BASE);
  });

  test('rebuilds the image when the app asks for another base', async () => {
    // GIVEN the image built on the local base (previous test), and an app whose base is a retag of it
    const otherBase = `livestack/base:image-test-${randomBytes(4).toString('hex')}`;
    await docker.getImage(LOCAL_BASE).tag({ repo: otherBase.split(':')[0], tag: otherBase.split(':')[1] });
    const lines: string[] = [];
    const driver = new DockerDriver({ stateDir }, { log: (line) => lines.push(line) });
    try {
      // WHEN the workload is created again from a spec with that base
      await driver.create({ ...keys, imageBuild: { baseImage: otherBase } });
      // THEN the driver rebuilt the image on it, saying why
      expect(lines[0]).toMatch(new RegExp(`^Building image .* on ${otherBase} \\(it was built on ${LOCAL_BASE}\\)`));
      expect((await docker.getImage(tag).inspect()).Config.Labels?.['livestack.base-image']).toBe(otherBase);
    } finally {
      await driver.close();
      await docker.getImage(otherBase).remove().catch(() => undefined);
    }
  });

  test('builds the image from an npm-packed livestack, as a project that installed the tarball does', async () => {
    // GIVEN livestack packed and unpacked as npm installs it into node_modules/livestack (no root lockfile)
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-packed-image-'));
    const packedTag = `livestack/runtime:packed-test-${randomBytes(4).toString('hex')}`;
    const packedKeys = topology(await dockerTestManifest(packedTag, { channelState: 'stopped' })).find((s) => s.role === 'keys')!;
    try {
      const installed = unpackLivestack(packLivestack(scratch), scratch);
      expect(fs.existsSync(path.join(installed, 'package-lock.json'))).toBe(false);
      const driver = new DockerDriver({ stateDir }, { packageRoot: installed });

      // WHEN a workload of a missing image is created from that package
      await driver.create({ ...packedKeys, imageBuild: { baseImage: LOCAL_BASE } });
      await driver.close();

      // THEN the image holds the packed lockfile under its usual name and the SRT listener built from the
      // package's C source, and the workload runs on it
      expect(await listing(packedTag, '/opt/livestack')).toEqual(['bin', 'build', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
      expect(await listing(packedTag, '/opt/livestack/build/native')).toEqual(['livestack-srt-listener']);
      const container = await docker.getContainer(packedKeys.name).inspect();
      expect(container.Image).toBe((await docker.getImage(packedTag).inspect()).Id);
      expect(container.State.Running).toBe(true);
    } finally {
      await removeAccounts(docker, [packedKeys.account]);
      await docker.getImage(packedTag).remove().catch(() => undefined);
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
