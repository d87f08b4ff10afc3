/**
 * A manifest's workloads on the real controller and docker driver, as `livestack apply` plus a watch
 * loop would run them: converged once, then reconciled every second (a removed container comes back).
 * `stop()` tears everything down, the account's network and volume included.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Manifest } from '../../../lib/model/manifest';
import { Controller } from '../../../lib/runtime/controller';
import { DesiredState, desiredState } from '../../../lib/runtime/desired-state';
import { DockerDriver } from '../../../lib/runtime/drivers/docker';
import { removeAccounts } from './docker-env';

export interface DockerStack {
  readonly desired: DesiredState;
  readonly driver: DockerDriver;
  readonly controller: Controller;
  readonly stateDir: string;
  stop(): Promise<void>;
}

export async function startDockerStack(manifest: Manifest, env: NodeJS.ProcessEnv = process.env): Promise<DockerStack> {
  const desired = desiredState(manifest, 'docker test manifest');
  const accounts = manifest.accounts.map((a) => a.name);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-docker-stack-'));
  const driver = new DockerDriver({ stateDir, env });
  const controller = new Controller({ driver, stateDir });
  const loop = new AbortController();
  let watching: Promise<void> = Promise.resolve();
  const stop = async () => {
    loop.abort();
    await watching;
    await driver.close();
    await removeAccounts(new Docker(), accounts);
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await controller.converge(desired, { timeoutMs: 120_000 });
  } catch (error) {
    await stop();
    throw error;
  }
  watching = controller.watch(() => desired, { signal: loop.signal, resyncMs: 1_000 });
  return { desired, driver, controller, stateDir, stop };
}
