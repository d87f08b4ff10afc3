/**
 * A scaled endpoint on the local driver: the balancer spreads players' requests over the real origin
 * replicas, and a replica that dies (its supervisor too, so it stays down until the controller
 * replaces it) costs no failed request.
 */
import { Manifest } from '../../lib/model/manifest';
import { WorkloadSpec } from '../../lib/contract/workload-spec';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { testManifest } from '../../bench/support/manifest-fixtures';
import { eventually } from '../runtime/support/eventually';
import { allUpstreamsUp, failedAttempts, originRequestCounts, requestLoop } from './balancer-support';

jest.setTimeout(120_000);

describe('balancer on the local driver (scaleUnits 3)', () => {
  let stack: LocalStack;
  let manifest: Manifest;
  let replicas: WorkloadSpec[];
  let endpointUrl: string;

  beforeAll(async () => {
    const base = await testManifest({ channelState: 'stopped' });
    const account = base.accounts[0];
    manifest = { ...base, accounts: [{ ...account, endpoints: [{ ...account.endpoints[0], scaleUnits: 3 }] }] };
    stack = await startLocalStack(manifest);
    await stack.waitReady();
    replicas = stack.specs.filter((s) => s.role === 'origin');
    endpointUrl = `http://127.0.0.1:${account.endpoints[0].port}`;
    await allUpstreamsUp(endpointUrl, 3);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  test('requests through the endpoint port reach every replica', async () => {
    // GIVEN three replicas on their internal ports and one balancer on the endpoint's port
    expect(replicas).toHaveLength(3);
    expect(stack.specs.filter((s) => s.role === 'balancer')).toHaveLength(1);
    const replicaUrl = (spec: WorkloadSpec) => `http://127.0.0.1:${spec.internalPorts[0]}`;
    const before = await originRequestCounts(replicas.map(replicaUrl));

    // WHEN 30 players' requests arrive on the endpoint port (an unknown locator: each replica answers 404)
    for (let i = 0; i < 30; i++) {
      const response = await fetch(`${endpointUrl}/no-such-locator/${i}.m3u8`, { signal: AbortSignal.timeout(5_000) });
      expect(response.status).toBe(404);
      await response.body?.cancel();
    }

    // THEN each replica's own metrics counted some of them, 30 in all
    const after = await originRequestCounts(replicas.map(replicaUrl));
    const served = after.map((count, i) => count - before[i]);
    process.stdout.write(`requests served per replica (local): ${served.join(', ')}\n`);
    for (const count of served) expect(count).toBeGreaterThan(0);
    expect(served.reduce((a, b) => a + b, 0)).toBe(30);
  });

  test('killing one replica fails no request', async () => {
    // GIVEN players requesting continuously through the balancer
    const loop = requestLoop(`${endpointUrl}/no-such-locator/index.m3u8`, 404);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // WHEN replica 1 and its supervisor are killed with SIGKILL (down until the controller replaces it)
    const victim = replicas[1];
    const { supervisor, workload } = stack.driver.processes(victim.name);
    process.kill(supervisor!, 'SIGKILL');
    process.kill(workload!, 'SIGKILL');
    const killedAt = Date.now();
    await eventually('the controller to replace the killed replica', () => {
      const now = stack.driver.processes(victim.name);
      return now.workload && now.workload !== workload ? true : undefined;
    }, 30_000, 50);
    const replacedAfter = Date.now() - killedAt;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const result = await loop.stop();

    // THEN every request during the outage got its answer from another replica
    process.stdout.write(`local: ${result.ok} requests answered, ${result.failed.length} failed while a replica was down (replaced after ${replacedAfter} ms; ${await failedAttempts(endpointUrl)} attempts retried on another replica, ${result.retriedOnStaleConnection} sent again on a fresh connection)\n`);
    expect(result.failed).toEqual([]);
    expect(result.ok).toBeGreaterThan(20);
  });
});
