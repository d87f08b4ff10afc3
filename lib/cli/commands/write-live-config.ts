import { Command } from 'commander';
import { ENV } from '../../contract/workload-env';
import { WRITE_LIVE_CONFIG_COMMAND } from '../../contract/tasks';
import { storagePaths } from '../../contract/storage-layout';
import { writeFileAtomic } from '../../util/files';

/** The live config task (lib/contract/tasks.ts): run by drivers next to a workload, never by hand. */
export function register(program: Command): void {
  program
    .command(WRITE_LIVE_CONFIG_COMMAND, { hidden: true })
    .description('Write $LIVESTACK_LIVE_CONFIG into the control file of $LIVESTACK_WORKLOAD on the account storage ($LIVESTACK_STORAGE_DIR).')
    .action(() => {
      const missing = [ENV.storageDir, ENV.workloadName, ENV.liveConfig].filter((name) => !process.env[name]);
      if (missing.length > 0) throw new Error(`${WRITE_LIVE_CONFIG_COMMAND}: environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set`);
      const text = process.env[ENV.liveConfig]!;
      // Refuse what the workload could not parse: its watcher would keep the old config and say why only in its log.
      JSON.parse(text);
      const file = storagePaths.controlFile(process.env[ENV.storageDir]!, process.env[ENV.workloadName]!);
      writeFileAtomic(file, `${text}\n`);
      process.stdout.write(`${JSON.stringify({ written: file })}\n`);
    });
}
