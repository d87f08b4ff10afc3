/**
 * Entry point of the origin workload (`livestack dataplane origin`): serves the endpoint's locators
 * as HLS and DASH from the account storage, reloading its locators from the control file in place.
 */
import { ENV, ORIGIN_CACHE } from '../../contract/workload-env';
import { originConfig, originLiveConfig, OriginLiveConfig } from '../../contract/workload-config';
import { storagePaths } from '../../contract/storage-layout';
import { LiveConfigWatcher } from '../common/live-config-watcher';
import { createLogger } from '../common/log';
import { OriginServer } from './origin-server';
import { stopOnSignals } from '../common/stop-on-signals';
import { parseJsonWith, readWorkloadEnv } from '../common/workload-env';

export async function run(): Promise<void> {
  const env = readWorkloadEnv(originConfig);
  const log = createLogger(env.workloadName);
  const live: OriginLiveConfig = env.liveConfigJson ? parseJsonWith(originLiveConfig, env.liveConfigJson, ENV.liveConfig) : { locators: [], previews: [] };
  const cacheMiB = Number(process.env[ORIGIN_CACHE.env] ?? String(ORIGIN_CACHE.defaultMiB));
  const server = new OriginServer({
    config: env.config,
    storageDir: env.storageDir,
    workloadName: env.workloadName,
    log,
    cacheBytes: (Number.isFinite(cacheMiB) && cacheMiB > 0 ? cacheMiB : ORIGIN_CACHE.defaultMiB) * 1024 * 1024,
  });
  server.setLiveConfig(live);
  const watcher = new LiveConfigWatcher(env.liveConfigFile ?? storagePaths.controlFile(env.storageDir, env.workloadName), originLiveConfig, (next) => {
    server.setLiveConfig(next);
    log.info(`reloaded live config: serving ${server.locatorCount} locator(s)`);
  }, log);
  watcher.start(env.liveConfigJson);
  const address = await server.listen(env.listenHost, env.config.listenPort);
  log.info(`origin of endpoint ${env.config.endpoint.name} (replica ${env.config.replica}) listening on http://${address.address}:${address.port}, serving ${server.locatorCount} locator(s)`);
  await stopOnSignals(log, async () => {
    watcher.stop();
    await server.close();
  });
}
