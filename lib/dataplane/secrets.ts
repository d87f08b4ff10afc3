/**
 * Resolving secret references inside a workload. Clear values live only in memory, in 0600 files under
 * `<storage>/secrets`, or in the workload's environment; callers must never log them.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import { SecretRef } from '../model/manifest';
import { secretEnvName } from '../contract/workload-env';
import { createPrivateFileOnce } from '../util/files';
import { storagePaths } from '../contract/storage-layout';

export class SecretUnavailableError extends Error {}

/**
 * The clear value of a `generated` or `variable` secret. A generated secret is created on first use
 * (O_EXCL, so concurrent workloads agree on one value) as 32 url-safe random characters.
 */
export function resolveSecret(ref: SecretRef, storageDir: string, env: NodeJS.ProcessEnv = process.env): string {
  switch (ref.kind) {
    case 'variable': {
      // On Swarm the value arrives as a Docker secret: a file whose path is in `<name>_FILE`.
      const file = env[`${secretEnvName(ref.id)}_FILE`];
      const value = env[secretEnvName(ref.id)] || (file ? readSecretFile(file, ref.id) : undefined);
      if (!value) {
        throw new SecretUnavailableError(`secret ${ref.id}: environment variable ${secretEnvName(ref.id)} is not set (Terraform variable ${ref.name}; the runtime reads TF_VAR_${ref.name})`);
      }
      return value;
    }
    case 'generated':
      return readOrCreateSecret(storagePaths.secret(storageDir, ref.id));
    case 'hash':
      throw new SecretUnavailableError(`secret ${ref.id} is stored only as a hash; it can be verified (verifySecret), not read`);
  }
}

function readSecretFile(file: string, id: string): string {
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new SecretUnavailableError(`secret ${id}: cannot read its file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Constant-time check of a presented value against any secret reference. */
export function verifySecret(ref: SecretRef, presented: string, storageDir: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (ref.kind === 'hash') {
    const expected = Buffer.from(ref.hash, 'base64');
    const actual = scryptSync(presented, Buffer.from(ref.salt, 'base64'), expected.length, { N: ref.cost });
    return timingSafeEqual(actual, expected);
  }
  return constantTimeEqual(presented, resolveSecret(ref, storageDir, env));
}

/** Whether `presented` equals `expected`, in a time that does not depend on where they differ. */
export function constantTimeEqual(presented: string, expected: string): boolean {
  const wanted = Buffer.from(expected);
  const actual = Buffer.from(presented);
  // Compare equal-length buffers: timingSafeEqual needs them, and the length check comes last.
  const padded = Buffer.alloc(wanted.length);
  actual.copy(padded, 0, 0, Math.min(actual.length, wanted.length));
  return timingSafeEqual(padded, wanted) && actual.length === wanted.length;
}

export function readOrCreateSecret(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  createPrivateFileOnce(file, randomBytes(24).toString('base64url'));
  return fs.readFileSync(file, 'utf8').trim();
}
