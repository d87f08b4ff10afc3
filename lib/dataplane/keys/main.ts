/**
 * Entry point of the key service workload (`livestack dataplane keys`): hands out the account's
 * content keys under their key policies. Logs name keys by id only; key bytes and tokens never appear.
 */
import { keyServiceConfig } from '../../contract/workload-config';
import { createLogger } from '../common/log';
import { stopOnSignals } from '../common/stop-on-signals';
import { readWorkloadEnv } from '../common/workload-env';
import { KeyServer } from './key-server';

export async function run(): Promise<void> {
  const env = readWorkloadEnv(keyServiceConfig);
  const log = createLogger(env.workloadName);
  const server = new KeyServer({ config: env.config, storageDir: env.storageDir, workloadName: env.workloadName, log });
  const address = await server.listen(env.listenHost, env.config.port);
  const policies = env.config.policies.map((p) => `${p.name} (${p.restriction.type})`).join(', ') || 'none';
  log.info(`key service of account ${env.config.account} listening on http://${address.address}:${address.port}: ${server.keyCount} content key(s), policies: ${policies}`);
  await stopOnSignals(log, () => server.close());
}
