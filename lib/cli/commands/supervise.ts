import { Command } from 'commander';

/** Hidden: the detached per-workload supervisor the local driver starts (see lib/runtime/drivers/local-supervisor.ts). */
export function register(program: Command): void {
  program
    .command('supervise', { hidden: true })
    .description('Supervise one local workload folder (started by the local driver, not by hand).')
    .argument('<dir>', 'the workload folder under <state-dir>/workloads/')
    .action(async (dir: string) => {
      const { Supervisor } = await import('../../runtime/drivers/local-supervisor');
      await new Supervisor(dir).run();
      // A daemon's work ends with its child: leave now, whatever handles the runtime still holds.
      process.exit(0);
    });
}
