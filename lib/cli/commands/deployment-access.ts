/**
 * Access records (lib/runtime/access.ts) made concrete for one deployment: the driver says where each
 * account's storage is (a generated stream key is a file there; the locator id key too), and the
 * options say how to run `livestack key show` against the same deployment. Not a command itself.
 */
import * as path from 'node:path';
import { readLocatorIdKey } from '../../contract/locator-ids';
import { originLiveConfig } from '../../contract/workload-config';
import { Access, AccountAccessRecord, DeploymentFacts, accessRecords, resolveAccess } from '../../runtime/access';
import { readAppliedRecords } from '../../runtime/applied-records';
import { Driver } from '../../runtime/drivers/driver';
import { readStatuses } from '../../runtime/status';
import { RuntimeOptions, DEFAULT_STATE_DIR, loadDesired } from './runtime-options';

/** Access records of the app given (`--app`, `--manifest`), else of the last apply in the state directory. */
export async function accessRecordsFor(options: RuntimeOptions): Promise<AccountAccessRecord[]> {
  return options.app || options.manifest ? accessRecords(await loadDesired(options)) : recordedAccess(path.resolve(options.stateDir));
}

/**
 * Access records as the last apply left them in the status files, with the ids the app set itself
 * (`locatorId`) from what the controller last applied to origins (status files never hold ids).
 */
export function recordedAccess(stateDir: string): AccountAccessRecord[] {
  const explicit = new Map<string, string>();
  for (const spec of readAppliedRecords(stateDir).values()) {
    const live = spec.role === 'origin' ? originLiveConfig.safeParse(spec.liveConfig) : undefined;
    for (const locator of live?.success ? live.data.locators : []) if (locator.id) explicit.set(`${spec.account}/${locator.name}`, locator.id);
  }
  return [...readStatuses(stateDir).values()].filter((s) => s.access).map((s) => ({
    account: s.account,
    ...s.access!,
    playback: s.access!.playback.map((play) => {
      const id = explicit.get(`${s.account}/${play.locator}`);
      return id ? { ...play, explicitId: id } : play;
    }),
  }));
}

/** The records with key files, key commands and locator ids of the deployment `driver` sees. */
export async function deploymentAccess(driver: Driver, records: readonly AccountAccessRecord[], options: Pick<RuntimeOptions, 'stateDir' | 'manifest'>): Promise<Access> {
  const facts = new Map<string, DeploymentFacts>();
  for (const { account } of records) {
    // The docker driver knows no storage before the first apply created the volume: then nothing is derived yet.
    const storageDir = await driver.storageDir(account).catch(() => undefined);
    facts.set(account, {
      storageDir,
      locatorIdKey: storageDir ? readLocatorIdKey(storageDir) : undefined,
      keyCommand: (channel) => keyShowCommand(account, channel, driver.kind, options),
    });
  }
  return resolveAccess(records, (account) => facts.get(account) ?? {});
}

/** `livestack key show CHANNEL --account A` with the options that reach this deployment again. */
export function keyShowCommand(account: string, channel: string, driver: string, options: Pick<RuntimeOptions, 'stateDir' | 'manifest'>): string {
  const parts = ['npx livestack key show', channel, '--account', account];
  if (driver !== 'local') parts.push('--driver', driver);
  if (path.resolve(options.stateDir) !== path.resolve(DEFAULT_STATE_DIR)) parts.push('--state-dir', shellWord(options.stateDir));
  // Without a status of this state directory (a Terraform deployment), the key's secret comes from the manifest.
  if (options.manifest) parts.push('--manifest', shellWord(options.manifest));
  return parts.join(' ');
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
