/**
 * Locator ids: the unguessable first segment of every playback URL. Nothing in an app's source (a
 * GitOps repository) may let anyone compute them, yet they must stay the same across synths and
 * applies of one deployment. So a locator's id is derived, with HMAC-SHA256, from its account and
 * name under a per-account key of 192 random bits that the first workload to need it generates in the
 * account's storage (`secrets/locator-id-key`, 0600, O_EXCL: concurrent workloads agree on one key).
 *
 * - Same storage (a state directory, a Docker volume): same key, same ids, whatever is re-synthesized.
 * - Another deployment (another state directory or volume): another key, other ids.
 * - `cdk.tf.json`, the manifest and workload configs carry names only; the origin, the key service
 *   and the runtime (status, the `up` banner) derive ids from the key at run time.
 * - A locator declared with an explicit `locatorId` keeps it (its URL is then as secret as the app).
 *
 * An id has the form of a random (version 4) UUID: 122 of its bits come from the HMAC.
 */
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import { storagePaths } from './storage-layout';

/** Secret id of the account's locator id key in its storage (`secrets/<id>`). */
export const LOCATOR_ID_KEY_SECRET = 'locator-id-key';

/** Where an account's locator id key lives, under its storage root. */
export function locatorIdKeyPath(storageDir: string): string {
  return storagePaths.secret(storageDir, LOCATOR_ID_KEY_SECRET);
}

/** The locator id key, or undefined before any workload of the account generated it. */
export function readLocatorIdKey(storageDir: string): string | undefined {
  try {
    const key = fs.readFileSync(locatorIdKeyPath(storageDir), 'utf8').trim();
    return key === '' ? undefined : key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** What a locator's id is derived from: an explicit id wins. */
export interface LocatorIdentity {
  readonly account: string;
  readonly name: string;
  /** Set when the app declared `locatorId` itself. */
  readonly id?: string;
}

/** The id of a locator under the account's key. */
export function locatorId(key: string, locator: LocatorIdentity): string {
  if (locator.id !== undefined) return locator.id;
  const hex = createHmac('sha256', key).update(`livestack locator id\0${locator.account}\0${locator.name}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
