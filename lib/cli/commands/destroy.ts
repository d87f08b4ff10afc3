import * as path from 'node:path';
import { Command } from 'commander';
import { acquireLock } from '../../runtime/lock';
import { progressPrinter } from './progress';
import { RuntimeOptions, addRuntimeOptions, openController, openDriver, out } from './runtime-options';

/** `livestack destroy`: stop and remove every workload of the state directory (storage is kept). */
export function register(program: Command): void {
  addRuntimeOptions(
    program
      .command('destroy')
      .description('Stop and remove every workload livestack runs from this state directory (local) or Docker host (docker). Media and keys in storage are kept.'),
    { desired: false },
  ).action(async (options: RuntimeOptions) => {
    const driver = await openDriver(options);
    const lock = acquireLock(path.resolve(options.stateDir), 'livestack destroy');
    try {
      const errors = await openController(driver, options, { onAction: progressPrinter(out) }).destroy();
      if (errors.length > 0) throw new Error(`destroy left ${errors.length} workload(s): ${errors.join('; ')}`);
      out('Destroy complete: no workload is running.');
    } finally {
      lock.release();
      await driver.close();
    }
  });
}
