import { Command } from 'commander';
import { RuntimeOptions, addRuntimeOptions, openDriver, out } from './runtime-options';

interface LogsOptions extends RuntimeOptions {
  readonly lines: string;
}

/** `livestack logs WORKLOAD`: the last lines a workload wrote (stdout and stderr). */
export function register(program: Command): void {
  addRuntimeOptions(
    program
      .command('logs')
      .description('Print the last lines of a workload\'s logs (see `livestack status` for names).')
      .argument('<workload>', 'workload name, e.g. ls-demo-ingest-news')
      .option('-n, --lines <count>', 'how many lines', '200'),
    { desired: false },
  ).action(async (workload: string, options: LogsOptions) => {
    const driver = await openDriver(options);
    try {
      out(await driver.logs(workload, Number(options.lines)));
    } finally {
      await driver.close();
    }
  });
}
