/**
 * A scaled endpoint on the docker driver: the balancer container reaches the origin replicas by their
 * names on the account network, spreads players' requests over all of them, and a replica removed with
 * `docker rm -f` costs no failed request while the controller brings it back.
 */
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { WorkloadSpec } from '../../lib/contract/workload-spec';
import { eventually } from '../runtime/support/eventually';
import { allUpstreamsUp, failedAttempts, originRequestCounts, requestLoop } from '../e2e/balancer-support';
import { PREPARE_TIMEOUT_MS, dockerTestManifest, prepareDocker } from './support/docker-env';
import { DockerStack, startDockerStack } from './support/docker-stack';

jest.setTimeout(180_000);

describe('balancer on the docker driver (scaleUnits 3)', () => {
  const docker = new Docker();
  let stack: DockerStack;
  let replicas: WorkloadSpec[];
  let endpointUrl: string;

  /** The replica's own address on the account network (the host reaches a bridge network directly). */
  async function replicaUrl(spec: WorkloadSpec): Promise<string> {
    const info = await docker.getContainer(spec.name).inspect();
    return `http://${info.NetworkSettings.Networks[spec.network].IPAddress}:${spec.internalPorts[0]}`;
  }

  beforeAll(async () => {
    const image = await prepareDocker();
    stack = await startDockerStack(await dockerTestManifest(image, { channelState: 'stopped' }, 3));
    replicas = stack.desired.specs.filter((s) => s.role === 'origin');
    endpointUrl = `http://127.0.0.1:${stack.desired.manifest.accounts[0].endpoints[0].port}`;
    await allUpstreamsUp(endpointUrl, 3, 60_000);
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  test('requests through the endpoint port reach every replica', async () => {
    const urls = await Promise.all(replicas.map(replicaUrl));
    const before = await originRequestCounts(urls);

    // WHEN 30 players' requests arrive on the endpoint's published port
    for (let i = 0; i < 30; i++) {
      const response = await fetch(`${endpointUrl}/no-such-locator/${i}.m3u8`, { signal: AbortSignal.timeout(5_000) });
      expect(response.status).toBe(404);
      await response.body?.cancel();
    }

    // THEN each replica's own metrics counted some of them, 30 in all
    const served = (await originRequestCounts(urls)).map((count, i) => count - before[i]);
    process.stdout.write(`requests served per replica (docker): ${served.join(', ')}\n`);
    for (const count of served) expect(count).toBeGreaterThan(0);
    expect(served.reduce((a, b) => a + b, 0)).toBe(30);
  });

  test('removing one replica container fails no request', async () => {
    // GIVEN players requesting continuously through the balancer
    const players = requestLoop(`${endpointUrl}/no-such-locator/index.m3u8`, 404);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const victim = replicas[1];
    const before = (await docker.getContainer(victim.name).inspect()).Id;

    // WHEN replica 1's container is removed behind livestack's back
    const removedAt = Date.now();
    execFileSync('docker', ['rm', '-f', victim.name], { stdio: 'ignore' });
    await eventually('the controller to recreate the replica', async () => {
      const now = await docker.getContainer(victim.name).inspect().catch(() => undefined);
      return now && now.Id !== before && now.State.Running ? true : undefined;
    }, 30_000, 100);
    const recreatedAfter = Date.now() - removedAt;
    await allUpstreamsUp(endpointUrl, 3);
    const result = await players.stop();
    const balancer = stack.desired.specs.find((s) => s.role === 'balancer')!;
    const reloads = (await stack.driver.logs(balancer.name, 1000)).split('\n').filter((l) => l.includes('reloaded nginx'));
    process.stdout.write(`docker balancer: ${reloads.length} nginx reload(s): ${reloads.map((l) => l.replace(/^.* reloaded nginx: /, '')).join(' | ')}\n`);

    // THEN every request meanwhile was answered by the other replicas
    process.stdout.write(`docker: ${result.ok} requests answered, ${result.failed.length} failed while a replica was gone (recreated after ${recreatedAfter} ms; ${await failedAttempts(endpointUrl)} attempts retried on another replica, ${result.retriedOnStaleConnection} sent again on a fresh connection)\n`);
    expect(result.failed).toEqual([]);
    expect(result.ok).toBeGreaterThan(20);
  });
});
