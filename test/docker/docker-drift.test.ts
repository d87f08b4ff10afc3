/**
 * Drift on the docker driver: a workload container removed behind livestack's back (`docker rm -f`)
 * is created again by the controller's watch loop. Prints the repair times; target p50 ≤ 5 s.
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import Docker from 'dockerode';
import { WorkloadSpec } from '../../lib/contract/workload-spec';
import { eventually, median } from '../runtime/support/eventually';
import { PREPARE_TIMEOUT_MS, answersOk, dockerTestManifest, prepareDocker } from './support/docker-env';
import { DockerStack, startDockerStack } from './support/docker-stack';

jest.setTimeout(180_000);

const TRIALS = 5;

describe('docker drift repair', () => {
  const docker = new Docker();
  let stack: DockerStack;
  let origin: WorkloadSpec;

  beforeAll(async () => {
    const image = await prepareDocker();
    // Converged, then a pass every second: the watch loop `livestack up` runs.
    stack = await startDockerStack(await dockerTestManifest(image, { channelState: 'stopped' }));
    origin = stack.desired.specs.find((s) => s.role === 'origin')!;
    await eventually('the origin to answer', async () => ((await answersOk(origin.healthCheck.httpUrl, 1_000)) ? true : undefined), 60_000, 100);
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
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
        return now && now.Id !== before && (await answersOk(origin.healthCheck.httpUrl, 1_000)) ? true : undefined;
      }, 30_000, 50);
      serving.push(Date.now() - removedAt);
      // AND Docker's health check reports it healthy (its first check runs one interval, 5 s, after start)
      await eventually('the new origin to be reported running', async () =>
        ((await stack.driver.observe()).find((w) => w.name === origin.name)?.phase === 'running' ? true : undefined), 30_000, 100);
      healthy.push(Date.now() - removedAt);
    }
    process.stdout.write(
      `docker repair after docker rm -f (ms) serving again: ${serving.join(', ')}; p50 ${median(serving)} ms` +
      ` | reported healthy: ${healthy.join(', ')}; p50 ${median(healthy)} ms (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})\n`,
    );
    expect(median(serving)).toBeLessThanOrEqual(5_000);
  });
});
