/**
 * The runtime's acceptance on the docker driver, as a user runs it: `livestack apply` of examples/basic
 * with `--driver docker`, a second `livestack plan` that has nothing to do, then a real encoder (ffmpeg,
 * lavfi test source) publishing to the ingest URL and a real player (ffmpeg) decoding the locator's
 * HLS through the origin — every workload a container of the runtime image.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { DockerDriver } from '../../lib/runtime/drivers/docker';
import { SynthesizedApp, synthesizeApp } from '../../lib/app/run-app';
import { topology } from '../../lib/topology';
import { expectExit, livestack } from '../support/cli';
import { keyAsPrinted, parsePrinted, pushAndPlay } from '../support/printed-access';
import { publishAndPlay } from '../support/basic-acceptance';
import { PREPARE_TIMEOUT_MS, prepareDocker, removeAccounts } from './support/docker-env';

jest.setTimeout(240_000);

const APP = path.join('examples', 'basic', 'main.ts');

describe('examples/basic on the docker driver', () => {
  const docker = new Docker();
  let stateDir: string;
  let outdir: string;
  let app: SynthesizedApp;
  let applyOutput = '';
  const runtime = (...args: string[]) => [...args, '--app', APP, '--driver', 'docker', '--state-dir', stateDir];

  beforeAll(async () => {
    await prepareDocker();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-docker-basic-'));
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-docker-basic-synth-'));
    app = await synthesizeApp(APP, outdir);
    // Leftovers of an interrupted earlier run would be adopted by apply: start clean.
    await removeAccounts(docker, app.manifest.accounts.map((a) => a.name));
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    if (stateDir) {
      const destroyed = await livestack(['destroy', '--driver', 'docker', '--state-dir', stateDir], { timeoutMs: 120_000 }).catch((e: Error) => e);
      if (destroyed instanceof Error || destroyed.code !== 0) process.stderr.write(`livestack destroy failed: ${destroyed instanceof Error ? destroyed.message : destroyed.stderr}\n`);
    }
    if (app) await removeAccounts(docker, app.manifest.accounts.map((a) => a.name));
    for (const dir of [stateDir, outdir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  test('apply creates every workload as a container, and a second plan has no actions', async () => {
    // WHEN the app is applied on the docker driver
    const applied = await livestack(runtime('apply'), { timeoutMs: 200_000 });
    expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
    applyOutput = applied.stdout;

    // THEN every workload of the app runs as a container
    const specs = topology(app.manifest);
    for (const spec of specs) expect((await docker.getContainer(spec.name).inspect()).State.Running).toBe(true);

    // AND planning again finds nothing to do (exit code 0)
    const planned = await livestack(runtime('plan'), { timeoutMs: 120_000 });
    expect(planned.code).toBe(0);
    expect(planned.stdout).toMatch(/no changes/i);
  });

  test('a test stream published to the ingest URL plays through the locator', async () => {
    // GIVEN the stream key the ingest generated, in the account's storage volume (where `up` points users)
    const account = app.manifest.accounts[0];
    const driver = new DockerDriver({ stateDir });
    const storage = await driver.storageDir(account.name);
    await driver.close();

    // WHEN an encoder publishes a test stream to the ingest URL, and ffmpeg plays the locator's HLS
    const played = await publishAndPlay(account, storage);

    // THEN video and audio decode through the origin
    process.stdout.write(`docker basic: played ${played.videoFrames} video and ${played.audioFrames} audio frames from ${played.masked}\n`);
    expect(played.videoFrames).toBeGreaterThanOrEqual(50);
    expect(played.audioFrames).toBeGreaterThan(0);
  });

  test('apply and status print where to push and play; key show reads the key from the volume; the printed URLs take a push and play', async () => {
    // GIVEN what apply printed, and what status prints on the docker driver (as for the state directory, and for the synthesized manifest as a Terraform user has it)
    const afterApply = parsePrinted(applyOutput);
    const status = await livestack(['status', '--driver', 'docker', '--state-dir', stateDir]);
    expectExit(status, 0);
    const fromStatus = parsePrinted(status.stdout);
    const manifestFile = path.join(outdir, 'stacks', 'basic', 'livestack.manifest.json');
    const terraformUser = parsePrinted((await livestack(['status', '--driver', 'docker', '--manifest', manifestFile, '--state-dir', path.join(outdir, 'terraform-user-state')])).stdout);

    // THEN they agree, name the docker driver in the key command, and the locator id is filled in
    expect(afterApply.rtmpUrl).toBe('rtmp://127.0.0.1:1935/live');
    expect(afterApply.keyCommand).toEqual(expect.arrayContaining(['key', 'show', 'news', '--driver', 'docker']));
    expect(fromStatus).toEqual(afterApply);
    expect(terraformUser.hls).toBe(afterApply.hls);
    expect(terraformUser.keyCommand).toEqual(expect.arrayContaining(['--manifest', manifestFile]));
    expect(afterApply.hls).toMatch(/^http:\/\/127\.0\.0\.1:8080\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\/manifest\.m3u8$/);

    // WHEN the key comes from the printed command (the Terraform user's too), and a stream is pushed to the printed URL
    const { key } = await keyAsPrinted(afterApply);
    expect((await keyAsPrinted(terraformUser)).key).toBe(key);
    expect(applyOutput + status.stdout).not.toContain(key);
    // THEN the printed HLS URL plays
    expect(await pushAndPlay(afterApply.rtmpUrl, key, fromStatus.hls!)).toBeGreaterThan(20);
  });
});
