/** Files that readers never see half-written. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Write a file so that readers never see half of it (write to a temp name, then rename). */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, data, { mode });
    fs.renameSync(tmp, file);
  } catch (error) {
    // A full disk fails the write half-way: leave no temp file behind (one per retry would pile up).
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/**
 * Overwrite `file` in place, for when writeFileAtomic cannot (a full disk has no room for the temp
 * file, but a small file's own blocks can be reused). Readers may see it half-written: only for
 * files whose readers retry on a parse error.
 */
export function overwriteInPlace(file: string, data: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const bytes = Buffer.from(data);
    fs.writeSync(fd, bytes, 0, bytes.length, 0);
    fs.ftruncateSync(fd, bytes.length);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Create a private (0600) file unless it exists, in a private (0700) folder: a temp file linked into
 * place, so readers never see it half-written and, when several workloads race, exactly one value wins
 * (link() fails for the others, and theirs is dropped). Returns nothing: read the file to learn the winner.
 */
export function createPrivateFileOnce(file: string, data: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.unlinkSync(tmp);
  }
}
