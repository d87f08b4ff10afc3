import * as fs from 'node:fs';
import { Command } from 'commander';
import { storagePaths } from '../../contract/storage-layout';
import { TerminalError } from '../../runtime/errors';
import { accessRecordsFor } from './deployment-access';
import { RuntimeOptions, addRuntimeOptions, openDriver, out } from './runtime-options';

interface KeyOptions extends RuntimeOptions {
  readonly account?: string;
}

/**
 * `livestack key show CHANNEL`: print a channel's generated stream key on purpose, to stdout and
 * nothing else (for `$(...)` and pipes). The only command that prints a secret; it logs nothing.
 */
export function register(program: Command): void {
  const key = program.command('key').description('Stream keys (secrets): shown only when asked for.');
  addRuntimeOptions(
    key
      .command('show')
      .description('Print the stream key of CHANNEL (generated at run time in the account\'s storage: a state directory\'s folder or the Docker volume) on stdout, '
        + 'for an encoder. Channels are those of the last apply in --state-dir, or of --app/--manifest (a deployment made with `cdktf deploy`).')
      .argument('<channel>', 'the channel\'s name')
      .option('--account <name>', 'the channel\'s account, when several accounts have a channel of that name'),
  ).action(async (channelName: string, options: KeyOptions) => {
    const records = await accessRecordsFor(options);
    const matches = records.flatMap((r) => r.ingest.filter((c) => c.channel === channelName && (!options.account || r.account === options.account)).map((c) => ({ account: r.account, channel: c })));
    if (matches.length === 0) {
      const known = records.flatMap((r) => r.ingest.map((c) => `${c.channel} (account ${r.account})`));
      const where = options.app || options.manifest ? `in ${options.app ?? options.manifest}` : `in the last apply of ${options.stateDir} (give --app or --manifest for a deployment livestack did not apply)`;
      throw new TerminalError('key show', `no running channel ${channelName}${options.account ? ` in account ${options.account}` : ''} ${where}; known: ${known.join(', ') || 'none'}`);
    }
    if (matches.length > 1) throw new TerminalError('key show', `channel ${channelName} exists in accounts ${matches.map((m) => m.account).join(', ')}: add --account`);
    const { account, channel } = matches[0];
    const origin = channel.streamKey;
    if (origin.kind === 'variable') throw new TerminalError('key show', `channel ${channelName}'s stream key is the sensitive Terraform variable ${origin.variable}: livestack does not keep it`);
    if (origin.kind === 'hash') throw new TerminalError('key show', `channel ${channelName}'s stream key was given in the app: livestack keeps only its salted hash`);
    const driver = await openDriver(options);
    try {
      const file = storagePaths.secret(await driver.storageDir(account), origin.secretId);
      let value: string;
      try {
        value = fs.readFileSync(file, 'utf8').trim();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new TerminalError('key show', `channel ${channelName} has no stream key yet (${file}): its ingest generates it when it first starts (livestack apply)`);
        throw new TerminalError('key show', `cannot read the stream key file ${file}: ${code ?? (error as Error).message}`);
      }
      out(value);
    } finally {
      await driver.close();
    }
  });
}
