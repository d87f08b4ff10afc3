import * as fs from 'node:fs';
import { Command } from 'commander';
import { ENV } from '../../contract/workload-env';
import { READ_INGEST_HEALTH_COMMAND } from '../../contract/tasks';
import { storagePaths } from '../../contract/storage-layout';

/** The ingest health task (lib/contract/tasks.ts): run by drivers next to an ingest, never by hand. */
export function register(program: Command): void {
  program
    .command(READ_INGEST_HEALTH_COMMAND, { hidden: true })
    .description('Print the health report of <channel> from the account storage ($LIVESTACK_STORAGE_DIR), or null when there is none yet.')
    .argument('<channel>', 'channel name')
    .action((channel: string) => {
      const root = process.env[ENV.storageDir];
      if (!root) throw new Error(`${READ_INGEST_HEALTH_COMMAND}: environment variable ${ENV.storageDir} not set`);
      let report: unknown = null;
      try {
        report = JSON.parse(fs.readFileSync(storagePaths.channelHealth(root, channel), 'utf8'));
      } catch (error) {
        // None yet; or caught half-written on a full disk (the ingest then rewrites it in place): none this time.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
      }
      // One line: the runtime reads the task's last line of output (the ingest writes the file indented).
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });
}
