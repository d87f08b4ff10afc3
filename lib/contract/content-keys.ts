/**
 * Content key ids: how the origin (which encrypts) and the key service (which hands keys out) name the
 * key of a protected locator without either telling the other.
 */
import { createHash } from 'node:crypto';

/** Content key id of an envelope-encrypted locator: derived one way from its (secret) id. */
export function contentKeyId(locatorId: string): string {
  return createHash('sha256').update(`livestack content key:${locatorId}`).digest('hex').slice(0, 32);
}
