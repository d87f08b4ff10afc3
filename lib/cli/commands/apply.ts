import * as path from 'node:path';
import { Command } from 'commander';
import { accessRecords } from '../../runtime/access';
import { DesiredState, desiredState } from '../../runtime/desired-state';
import { TerminalError } from '../../runtime/errors';
import { acquireLock } from '../../runtime/lock';
import { readSavedPlan } from '../../runtime/saved-plan';
import { accessLines } from '../access-text';
import { deploymentAccess } from './deployment-access';
import { progressPrinter } from './progress';
import { RuntimeOptions, addRuntimeOptions, loadDesired, openController, openDriver, out } from './runtime-options';

interface ApplyOptions extends RuntimeOptions {
  readonly wait: string;
  readonly timeout: string;
}

/** `livestack apply [PLAN]`: converge the workloads to the app (or to a saved plan), then wait until they are ready. */
export function register(program: Command): void {
  addRuntimeOptions(
    program
      .command('apply')
      .description('Create, replace, update and delete workloads until they match the app; workloads keep running after it exits.')
      .argument('[plan]', 'a plan saved by `livestack plan --out`; refused if the world moved since')
      .option('--wait <seconds>', 'then wait this long for every workload to be ready (0: do not wait)', '60')
      .option('--timeout <seconds>', 'give up converging after this long', '120'),
  ).action(async (planFile: string | undefined, options: ApplyOptions) => {
    let desired: DesiredState;
    let runtime: RuntimeOptions = options;
    let expectFingerprint: string | undefined;
    if (planFile) {
      if (options.app || options.manifest) throw new TerminalError('options', 'a saved plan already holds its app: give the plan file or --app/--manifest, not both');
      const saved = readSavedPlan(planFile);
      desired = desiredState(saved.manifest, `${planFile} (saved from ${saved.source})`);
      runtime = { ...options, driver: saved.driver, stateDir: saved.stateDir };
      expectFingerprint = saved.fingerprint;
    } else {
      desired = await loadDesired(options);
    }
    const driver = await openDriver(runtime);
    const lock = acquireLock(path.resolve(runtime.stateDir), `livestack apply (${desired.source})`);
    try {
      const controller = openController(driver, runtime, { onAction: progressPrinter(out) });
      const result = await controller.converge(desired, { timeoutMs: Number(options.timeout) * 1000, expectFingerprint });
      const c = result.plan.counts;
      out(`Apply complete: ${c.create} created, ${c.replace} replaced, ${c.update} updated in place, ${c.delete} deleted, ${c.keep} unchanged.`);
      const waitMs = Number(options.wait) * 1000;
      if (waitMs > 0) {
        // Reconciling goes on while waiting: a workload that dies while it starts is repaired.
        await controller.converge(desired, { timeoutMs: waitMs, waitReady: true });
        out(`Ready: ${desired.specs.length} workload${desired.specs.length === 1 ? '' : 's'} running.`);
      }
      // What apply wrote into the state directory's status is enough for `key show`: no --manifest in its command.
      const where = accessLines(await deploymentAccess(driver, accessRecords(desired), { stateDir: runtime.stateDir }));
      if (where.length > 0) out(['', ...where].join('\n'));
    } finally {
      lock.release();
      await driver.close();
    }
  });
}
