/**
 * On Kubernetes a workload's live config is a mounted ConfigMap, which the kubelet updates in place by
 * swapping a `..data` symlink. A real origin process, booted as its Kubernetes container is (the spec's
 * env, the live config as LIVESTACK_LIVE_CONFIG_FILE), serves the new locators after such a swap,
 * without restarting.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing, TerraformStack } from 'cdktf';
import { MediaAccount, Platform, RuntimeImage } from '../../../constructs';
import { ENV } from '../../../lib/contract/workload-env';
import { containerEnv, LIVE_CONFIG_KEY } from '../../../lib/render/kubernetes-objects';
import { LivestackStackSynthesis } from '../../../lib/synth/stack-synthesis';
import { topology } from '../../../lib/topology';
import { freePort } from '../../../bench/support/manifest-fixtures';
import { CLI } from '../../support/cli';
import { eventually } from '../../runtime/support/eventually';

jest.setTimeout(60_000);

/** The origin spec of a Kubernetes app with `locators` locators on one endpoint. */
function originSpec(port: number, locators: number) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const account = new MediaAccount(stack, 'tv', { runtimeImage: RuntimeImage.fromName('registry.example.com/livestack/runtime:0.1.0'), platform: Platform.kubernetes() });
  const endpoint = account.addStreamingEndpoint('main', { port });
  const channel = account.addLiveChannel('news');
  for (let i = 0; i < locators; i++) channel.addProgram(`p${i}`).publish(endpoint);
  return topology(LivestackStackSynthesis.of(stack).render().manifest).find((s) => s.role === 'origin')!;
}

/** A ConfigMap volume as the kubelet lays it out: `<key>` -> `..data/<key>` -> a timestamped folder. */
function writeConfigMap(dir: string, generation: number, content: string): void {
  const version = `..2026_12_01_00_00_0${generation}`;
  fs.mkdirSync(path.join(dir, version));
  fs.writeFileSync(path.join(dir, version, LIVE_CONFIG_KEY), content);
  fs.symlinkSync(version, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  if (!fs.existsSync(path.join(dir, LIVE_CONFIG_KEY))) fs.symlinkSync(path.join('..data', LIVE_CONFIG_KEY), path.join(dir, LIVE_CONFIG_KEY));
}

describe('a live config mounted from a ConfigMap', () => {
  let scratch: string;
  let origin: ChildProcess | undefined;
  let output = '';

  beforeAll(() => { scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-live-file-')); });

  afterAll(async () => {
    if (origin && origin.exitCode === null) {
      const exited = new Promise((resolve) => origin!.once('exit', resolve));
      origin.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('an origin booted from the file serves the locators of a swapped ConfigMap, in the same process', async () => {
    // GIVEN the origin's container env, its live config in a ConfigMap volume with one locator
    const port = await freePort();
    const before = originSpec(port, 1);
    const mount = path.join(scratch, 'live');
    fs.mkdirSync(mount);
    writeConfigMap(mount, 1, JSON.stringify(before.liveConfig));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, [ENV.storageDir]: path.join(scratch, 'storage'), [ENV.listenHost]: '127.0.0.1' };
    for (const variable of containerEnv(before)) env[variable.name] = variable.value;
    env[ENV.liveConfigFile] = path.join(mount, LIVE_CONFIG_KEY);
    expect(env[ENV.liveConfig]).toBeUndefined();

    // WHEN the origin runs, and the ConfigMap is updated to three locators
    origin = spawn(process.execPath, [CLI, ...before.command.slice(1)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    origin.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    origin.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    await eventually('the origin listening', () => (output.includes('serving 1 locator(s)') ? true : undefined), 20_000, 100);
    const pid = origin.pid;
    writeConfigMap(mount, 2, JSON.stringify(originSpec(port, 3).liveConfig));

    // THEN it reloads in place: same process, three locators, still healthy
    await eventually('the reload', () => (output.includes('reloaded live config: serving 3 locator(s)') ? true : undefined), 20_000, 100);
    expect(origin.pid).toBe(pid);
    expect(origin.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
