/**
 * The controller lock: one file, created exclusively (link of a complete temp file), holding the owner's pid, process start time and
 * command. Two controllers cannot act on one state directory at once; a lock whose owner died (kill
 * -9, a crash, a reboot) is stale and taken over.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProcessIdentity, formatIdentity, identify, isAlive, parseIdentity } from './process-identity';

export class LockHeldError extends Error {
  constructor(readonly file: string, readonly owner: ProcessIdentity, readonly command: string) {
    super(`another livestack controller (pid ${owner.pid}: ${command || 'unknown command'}) holds ${file}; wait for it or stop it`);
    this.name = 'LockHeldError';
  }
}

export interface ControllerLock {
  readonly file: string;
  release(): void;
}

export function lockFile(stateDir: string): string {
  return path.join(stateDir, 'controller.lock');
}

/** Take the lock of `stateDir` or throw LockHeldError naming its live owner. */
export function acquireLock(stateDir: string, command: string): ControllerLock {
  const file = lockFile(stateDir);
  fs.mkdirSync(stateDir, { recursive: true });
  const self = identify(process.pid) ?? { pid: process.pid };
  for (let attempt = 0; attempt < 5; attempt++) {
    // Write a temp file, then link it into place: link() is O_EXCL and readers never see an empty lock.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${formatIdentity(self)}${command}\n`);
    try {
      fs.linkSync(tmp, file);
      return { file, release: () => releaseIfOwned(file, self) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    const holder = readHolder(file);
    if (holder && isAlive(holder.owner)) throw new LockHeldError(file, holder.owner, holder.command);
    // Stale: move it aside under a unique name first, so two processes taking over cannot remove
    // each other's fresh lock.
    const aside = `${file}.stale.${process.pid}.${attempt}`;
    try {
      fs.renameSync(file, aside);
      const moved = readHolder(aside);
      if (moved && isAlive(moved.owner)) fs.renameSync(aside, file);
      else fs.rmSync(aside, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(`could not take ${file}: it keeps changing hands`);
}

/** Who holds the lock, if anyone alive. */
export function lockHolder(stateDir: string): { owner: ProcessIdentity; command: string } | undefined {
  const holder = readHolder(lockFile(stateDir));
  return holder && isAlive(holder.owner) ? holder : undefined;
}

function readHolder(file: string): { owner: ProcessIdentity; command: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const [first, ...rest] = text.split('\n');
  const owner = parseIdentity(first);
  if (!owner) return undefined;
  return { owner, command: rest.join(' ').trim() };
}

function releaseIfOwned(file: string, self: ProcessIdentity): void {
  const holder = readHolder(file);
  if (holder?.owner.pid === self.pid && holder.owner.startTime === self.startTime) fs.rmSync(file, { force: true });
}
