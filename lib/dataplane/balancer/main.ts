/**
 * Entry point of the balancer workload (`livestack dataplane balancer`): one address for an endpoint
 * whose origin has several replicas. Replicas are reached by their workload name on the account's
 * Docker network; the local driver runs them on this machine and says so through
 * LIVESTACK_UPSTREAM_HOST (every upstream's host is then that address).
 */
import { balancerTokenPath } from '../../contract/forwarding';
import { readOrCreateSecret } from '../secrets';
import { balancerConfig } from '../../contract/workload-config';
import { UPSTREAM_HOST_ENV } from '../../contract/workload-env';
import { createLogger } from '../common/log';
import { stopOnSignals } from '../common/stop-on-signals';
import { readWorkloadEnv } from '../common/workload-env';
import { Balancer } from './balancer';

export async function run(): Promise<void> {
  const env = readWorkloadEnv(balancerConfig);
  const log = createLogger(env.workloadName);
  const hostOverride = process.env[UPSTREAM_HOST_ENV] || undefined;
  const replicas = env.config.upstreams.map((u) => ({ host: hostOverride ?? u.host, port: u.port }));
  const proofToken = readOrCreateSecret(balancerTokenPath(env.storageDir));
  const balancer = new Balancer({ workloadName: env.workloadName, listenHost: env.listenHost, port: env.config.listenPort, replicas, log, proofToken });
  await balancer.start();
  log.info(`balancer of endpoint ${env.config.endpoint} listening on http://${env.listenHost}:${env.config.listenPort}, ${replicas.length} origin replicas: ${replicas.map((r) => `${r.host}:${r.port}`).join(', ')}`);
  const stopped = stopOnSignals(log, () => balancer.stop()).then(() => undefined);
  // nginx carries every request: if it dies on its own, the workload stops and its driver restarts it.
  const outcome = await Promise.race([stopped, balancer.nginxDied()]);
  if (outcome !== undefined) {
    await balancer.stop();
    throw new Error(`${outcome}; the balancer cannot serve without it`);
  }
  await stopped;
}
