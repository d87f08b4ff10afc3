/**
 * Test harness: run a manifest's workloads on the real controller and local driver, as `livestack up`
 * does, for end-to-end suites. A reconcile loop keeps running in the background (a killed workload
 * comes back); `stop()` tears everything down and frees the ports.
 *
 * ```ts
 * const stack = await startLocalStack(manifest, { env: { ...process.env, TF_VAR_key: 'secret' } });
 * await stack.waitReady();
 * ... push to the ingest, play from the origin ...
 * await stack.stop();
 * ```
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest } from '../../lib/model/manifest';
import { WorkloadSpec } from '../../lib/contract/workload-spec';
import { Controller } from '../../lib/runtime/controller';
import { DesiredState, desiredState } from '../../lib/runtime/desired-state';
import { LocalDriver } from '../../lib/runtime/drivers/local';
import { localPaths } from '../../lib/runtime/drivers/local-records';
import { acquireLock } from '../../lib/runtime/lock';

export interface LocalStackOptions {
  /** Environment of the runtime: base environment of the workloads and source of `TF_VAR_*` secrets. */
  readonly env?: NodeJS.ProcessEnv;
  /** State directory; default a new temp folder, removed by `stop()`. */
  readonly stateDir?: string;
}

export interface LocalStack {
  readonly stateDir: string;
  /** The workload specs of the current manifest. */
  readonly specs: WorkloadSpec[];
  readonly driver: LocalDriver;
  readonly controller: Controller;
  /** Host folder of an account's storage. */
  storageDir(account: string): string;
  /** Resolves once every workload answers its health URL with 2xx. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** The last lines of a workload's log. */
  logs(name: string): Promise<string>;
  /** Reconcile to another manifest (a program stopped, a locator changed, ...). */
  apply(manifest: Manifest): Promise<void>;
  /** Delete every workload, stop the loop, release the lock; ports are free when it resolves. */
  stop(): Promise<void>;
}

export async function startLocalStack(manifest: Manifest, options: LocalStackOptions = {}): Promise<LocalStack> {
  const ownsStateDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-stack-'));
  const driver = new LocalDriver({ stateDir, env: options.env ?? process.env });
  const lock = acquireLock(stateDir, 'test harness (startLocalStack)');
  const controller = new Controller({ driver, stateDir });
  const loop = new AbortController();
  let desired: DesiredState | undefined;
  let watching: Promise<void> = Promise.resolve();

  const stop = async () => {
    loop.abort();
    await watching;
    await controller.destroy();
    lock.release();
    if (ownsStateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    desired = desiredState(manifest, 'startLocalStack manifest');
    await controller.converge(desired, { timeoutMs: 60_000 });
  } catch (error) {
    await stop();
    throw error;
  }
  const current = () => desired!;
  watching = controller.watch(current, { signal: loop.signal, resyncMs: 500 });

  return {
    stateDir,
    driver,
    controller,
    get specs() {
      return current().specs;
    },
    storageDir: (account) => localPaths.storageDir(driver.stateDir, account),
    waitReady: (timeoutMs = 60_000) => waitHealthy(current().specs, driver, timeoutMs),
    logs: (name) => driver.logs(name),
    async apply(next) {
      const state = desiredState(next, 'startLocalStack apply manifest');
      desired = state;
      await controller.converge(state, { timeoutMs: 60_000 });
    },
    stop,
  };
}

async function waitHealthy(specs: readonly WorkloadSpec[], driver: LocalDriver, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...specs];
  while (pending.length > 0) {
    const results = await Promise.all(pending.map(async (spec) => ((await healthy(spec.healthCheck.httpUrl)) ? undefined : spec)));
    pending = results.filter((s): s is WorkloadSpec => s !== undefined);
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      const details = await Promise.all(pending.map(async (spec) => {
        const log = await driver.logs(spec.name, 20).catch((error: Error) => error.message);
        return `${spec.name} (${spec.healthCheck.httpUrl}):\n${log}`;
      }));
      throw new Error(`workloads not healthy after ${timeoutMs} ms:\n${details.join('\n---\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
