import { Command } from 'commander';

/** Each data-plane program exports `run()`, reading its config from the environment (see lib/topology). */
const programs: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  ingest: () => import('../../dataplane/ingest/main'),
  origin: () => import('../../dataplane/origin/main'),
  keys: () => import('../../dataplane/keys/main'),
  balancer: () => import('../../dataplane/balancer/main'),
};

export function register(program: Command): void {
  program
    .command('dataplane')
    .description('Run one data-plane workload in the foreground (what containers and the local driver start).')
    .argument('<role>', `one of: ${Object.keys(programs).join(', ')}`)
    .action(async (role: string) => {
      const load = programs[role];
      if (!load) throw new Error(`unknown data-plane role "${role}": expected one of ${Object.keys(programs).join(', ')}`);
      await (await load()).run();
    });
}
