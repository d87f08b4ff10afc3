import { locatorId, readLocatorIdKey } from '../../lib/contract/locator-ids';
import { AccountManifest, LocatorManifest } from '../../lib/model/manifest';

/**
 * The id a running stack serves `locator` under: the app's own, else derived from the key its
 * workloads generated in the account's storage (so call it once the origin has started).
 */
export function servedLocatorId(storageDir: string, account: AccountManifest, locator: LocatorManifest): string {
  const key = readLocatorIdKey(storageDir);
  if (key === undefined && locator.id === undefined) throw new Error(`no locator id key in ${storageDir} yet: has the origin of account ${account.name} started?`);
  return locatorId(key ?? '', { account: account.name, name: locator.name, id: locator.id });
}
