/**
 * Entry point of the balancer workload (`livestack dataplane balancer`): one address for an endpoint
 * whose origin has several replicas. Replicas are reached by their workload name on the account's
 * Docker network; the local driver runs them on this machine and says so through
 * LIVESTACK_UPSTREAM_HOST (every upstream's host is then that address).
 */
import { balancerConfig } from '../../topology';
import { createLogger } from '../origin/log';
import { stopOnSignals } from '../origin/stop-on-signals';
import { readWorkloadEnv } from '../origin/workload-env';
import { ProxyServer } from './proxy-server';
import { UpstreamPool } from './upstream-pool';

/** Set by the local driver (see lib/runtime/drivers/local.ts): where every upstream listens. */
const UPSTREAM_HOST_ENV = 'LIVESTACK_UPSTREAM_HOST';

export async function run(): Promise<void> {
  const env = readWorkloadEnv(balancerConfig);
  const log = createLogger(env.workloadName);
  const hostOverride = process.env[UPSTREAM_HOST_ENV] || undefined;
  const targets = env.config.upstreams.map((u) => ({ host: hostOverride ?? u.host, port: u.port }));
  const pool = new UpstreamPool(targets, {
    onChange: (upstream, previous) => {
      if (upstream.state === 'up') log.info(`origin replica ${upstream.label} is up${previous === 'down' ? ' again' : ''}`);
      else log.error(`origin replica ${upstream.label} is down (${upstream.lastError ?? 'no answer'}); requests go to the others`);
    },
  });
  const server = new ProxyServer({ pool, workloadName: env.workloadName, log });
  const address = await server.listen(env.listenHost, env.config.listenPort);
  log.info(`balancer of endpoint ${env.config.endpoint} listening on http://${address.address}:${address.port}, ${targets.length} origin replicas: ${targets.map((t) => `${t.host}:${t.port}`).join(', ')}`);
  await pool.startProbing();
  await stopOnSignals(log, async () => {
    pool.stop();
    await server.close();
  });
}
