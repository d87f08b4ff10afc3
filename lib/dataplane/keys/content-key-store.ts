/**
 * Content keys on the account storage (`keys/<keyId>.key`: 16 random bytes, mode 0600). The key
 * service and every origin replica may need a key first; each creates it with a private temp file
 * linked into place (link fails if another won), so all agree on one key and none reads half a file.
 * Key bytes stay in memory and in that file: callers never log them.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createPrivateFileOnce } from '../../util/files';
import { storagePaths } from '../../contract/storage-layout';

export const CONTENT_KEY_BYTES = 16;

export class ContentKeyError extends Error {}

/** The content key `keyId`, created on first use. */
export function readOrCreateContentKey(storageDir: string, keyId: string): Buffer {
  if (!/^[0-9a-f]{32}$/.test(keyId)) throw new ContentKeyError(`content key id ${JSON.stringify(keyId)} is not 32 hex digits`);
  const file = storagePaths.contentKey(storageDir, keyId);
  const existing = readKey(file);
  if (existing) return existing;
  createPrivateFileOnce(file, randomBytes(CONTENT_KEY_BYTES));
  const created = readKey(file);
  if (!created) throw new ContentKeyError(`content key ${file} vanished right after it was created`);
  return created;
}

function readKey(file: string): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ContentKeyError(`cannot read content key ${file}: ${(error as Error).message}`);
  }
  if (bytes.length !== CONTENT_KEY_BYTES) {
    throw new ContentKeyError(`content key ${file} holds ${bytes.length} bytes, expected ${CONTENT_KEY_BYTES}; refusing to use it`);
  }
  return bytes;
}
