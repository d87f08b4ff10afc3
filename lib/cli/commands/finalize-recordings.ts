import { Command } from 'commander';
import { ENV } from '../../contract/workload-env';
import { FINALIZE_COMMAND } from '../../contract/tasks';
import { createLogger } from '../../dataplane/common/log';
import { finalizeRecordings } from '../../dataplane/ingest/finalize';

/** The finalize task (lib/contract/tasks.ts): run by drivers next to an ingest, never by hand. */
export function register(program: Command): void {
  program
    .command(FINALIZE_COMMAND, { hidden: true })
    .description('Close a channel\'s recordings on the account storage ($LIVESTACK_STORAGE_DIR); prints a JSON report.')
    .requiredOption('--channel <name>', 'the channel whose recordings to close')
    .option('--since <epochMs>', 'report assets closed since this time')
    .option('--wait-ms <ms>', 'wait this long for the running ingest to close them')
    .option('--close', 'close what is still open from its files')
    .action(async (options: { channel: string; since?: string; waitMs?: string; close?: boolean }) => {
      const storageDir = process.env[ENV.storageDir];
      if (!storageDir) throw new Error(`${FINALIZE_COMMAND}: environment variable ${ENV.storageDir} is not set`);
      const report = await finalizeRecordings({
        storageDir,
        channel: options.channel,
        since: options.since === undefined ? undefined : Number(options.since),
        waitMs: options.waitMs === undefined ? undefined : Number(options.waitMs),
        close: options.close === true,
        log: createLogger(`${process.env[ENV.workloadName] ?? 'ingest'} finalize`),
      });
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });
}
