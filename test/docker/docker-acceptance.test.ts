/**
 * The runtime's acceptance on the docker driver, as a user runs it: `livestack apply` of examples/basic
 * with `--driver docker`, a second `livestack plan` that has nothing to do, then a real encoder (ffmpeg,
 * lavfi test source) publishing to the ingest URL and a real player (ffmpeg) decoding the locator's
 * HLS through the origin — every workload a container of the runtime image.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { storagePaths } from '../../lib/dataplane/storage-layout';
import { DockerDriver } from '../../lib/runtime/drivers/docker';
import { SynthesizedApp, synthesizeApp } from '../../lib/synth/run-app';
import { topology } from '../../lib/topology';
import { livestack } from '../support/cli';
import { eventually } from '../runtime/support/eventually';
import { PREPARE_TIMEOUT_MS, prepareDocker, removeAccounts } from './support/docker-env';

jest.setTimeout(240_000);

const run = promisify(execFile);
const APP = path.join('examples', 'basic', 'main.ts');

describe('examples/basic on the docker driver', () => {
  const docker = new Docker();
  let stateDir: string;
  let outdir: string;
  let app: SynthesizedApp;
  let encoder: ChildProcess | undefined;
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
    encoder?.kill('SIGKILL');
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

    // THEN every workload of the app runs as a container
    const specs = topology(app.manifest);
    for (const spec of specs) expect((await docker.getContainer(spec.name).inspect()).State.Running).toBe(true);

    // AND planning again finds nothing to do (exit code 0)
    const planned = await livestack(runtime('plan'), { timeoutMs: 120_000 });
    expect(planned.code).toBe(0);
    expect(planned.stdout).toMatch(/no changes/i);
  });

  test('a test stream published to the ingest URL plays through the locator', async () => {
    const account = app.manifest.accounts[0];
    const channel = account.channels[0];
    const locator = account.locators[0];
    const program = channel.programs.find((p) => p.name === locator.program)!;
    // GIVEN the stream key the ingest generated, in the account's storage volume (where `up` points users)
    const driver = new DockerDriver({ stateDir });
    const storage = await driver.storageDir(account.name);
    await driver.close();
    const keyFile = storagePaths.secret(storage, channel.streamKey.id);
    const key = await eventually('the generated stream key', () => (fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : undefined), 30_000, 200);

    // WHEN an encoder publishes a small test stream (video and audio) to the ingest URL
    const ingestUrl = `rtmp://127.0.0.1:${channel.port}/live/${key}`;
    encoder = spawn('ffmpeg', [
      '-hide_banner', '-v', 'error', '-re',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '40', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
      '-f', 'flv', ingestUrl,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let encoderErrors = '';
    encoder.stderr!.on('data', (chunk: Buffer) => { encoderErrors += chunk.toString(); });

    // THEN the locator's HLS master playlist appears on the endpoint, and ffmpeg decodes video and audio from it
    const master = `http://127.0.0.1:${account.endpoints[0].port}/${locator.id}/${program.manifestName}.m3u8`;
    await eventually('the master playlist with segments behind it', async () => {
      const response = await fetch(master, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
      if (!response?.ok) return undefined;
      const media = (await response.text()).split('\n').find((l) => l !== '' && !l.startsWith('#'));
      if (!media) return undefined;
      const playlist = await (await fetch(new URL(media, master), { signal: AbortSignal.timeout(3_000) })).text();
      return playlist.includes('#EXTINF') ? true : undefined;
    }, 90_000, 500).catch((error: Error) => {
      throw new Error(`${error.message}\nencoder: ${encoderErrors}`);
    });
    const played = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', master, '-map', '0:v:0', '-map', '0:a:0', '-t', '3', '-f', 'framecrc', '-'], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    const frames = played.stdout.split('\n').filter((l) => /^\d+,/.test(l));
    const videoFrames = frames.filter((l) => l.startsWith('0,')).length;
    const audioFrames = frames.filter((l) => l.startsWith('1,')).length;
    process.stdout.write(`docker basic: played ${videoFrames} video and ${audioFrames} audio frames from ${master.replace(locator.id, '<locator>')}\n`);
    expect(videoFrames).toBeGreaterThanOrEqual(50);
    expect(audioFrames).toBeGreaterThan(0);
  });
});
