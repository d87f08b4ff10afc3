/**
 * Drift on the docker driver: a workload container removed behind livestack's back (`docker rm -f`)
 * is created again by the controller's watch loop. Prints the repair times; target p50 ≤ 5 s.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Controller } from '../../lib/runtime/controller';
import { desiredState } from '../../lib/runtime/desired-state';
import { DockerDriver } from '../../lib/runtime/drivers/docker';
import { WorkloadSpec } from '../../lib/topology/workload-spec';
import { eventually, median } from '../runtime/support/eventually';
import { PREPARE_TIMEOUT_MS, dockerTestManifest, prepareDocker, removeAccounts } from './support/docker-env';

jest.setTimeout(180_000);

const TRIALS = 5;

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

describe('docker drift repair', () => {
  const docker = new Docker();
  let stateDir: string;
  let driver: DockerDriver;
  let controller: Controller;
  let account: string;
  let origin: WorkloadSpec;
  const loop = new AbortController();
  let watching: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    const image = await prepareDocker();
    const desired = desiredState(await dockerTestManifest(image, { channelState: 'stopped' }), 'drift test manifest');
    account = desired.manifest.accounts[0].name;
    origin = desired.specs.find((s) => s.role === 'origin')!;
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-docker-drift-'));
    driver = new DockerDriver({ stateDir, env: process.env });
    controller = new Controller({ driver, stateDir });
    await controller.converge(desired, { timeoutMs: 120_000 });
    await eventually('the origin to answer', async () => ((await answers(origin.healthCheck.httpUrl)) ? true : undefined), 60_000, 100);
    // The watch loop `livestack up` and `apply --watch` run: a pass every second.
    watching = controller.watch(() => desired, { signal: loop.signal, resyncMs: 1_000 });
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    loop.abort();
    await watching;
    await driver?.close();
    if (account) await removeAccounts(docker, [account]);
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('a container removed with docker rm -f is back within 5 s (p50)', async () => {
    const serving: number[] = [];
    const healthy: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      // GIVEN the running origin container
      const before = (await docker.getContainer(origin.name).inspect()).Id;

      // WHEN it is removed behind livestack's back
      const removedAt = Date.now();
      execFileSync('docker', ['rm', '-f', origin.name], { stdio: 'ignore' });

      // THEN a new container of that name serves on the endpoint's port again
      await eventually('a new origin container to answer', async () => {
        const now = await docker.getContainer(origin.name).inspect().catch(() => undefined);
        return now && now.Id !== before && (await answers(origin.healthCheck.httpUrl)) ? true : undefined;
      }, 30_000, 50);
      serving.push(Date.now() - removedAt);
      // AND Docker's health check reports it healthy (its first check runs one interval, 5 s, after start)
      await eventually('the new origin to be reported running', async () =>
        ((await driver.observe()).find((w) => w.name === origin.name)?.phase === 'running' ? true : undefined), 30_000, 100);
      healthy.push(Date.now() - removedAt);
    }
    process.stdout.write(
      `docker repair after docker rm -f (ms) serving again: ${serving.join(', ')}; p50 ${median(serving)} ms` +
      ` | reported healthy: ${healthy.join(', ')}; p50 ${median(healthy)} ms (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})\n`,
    );
    expect(median(serving)).toBeLessThanOrEqual(5_000);
  });
});
