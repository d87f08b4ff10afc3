/**
 * Process liveness that survives pid reuse: a process is identified by its pid and its start time
 * (field 22 of /proc/<pid>/stat), so a recorded pid that now belongs to another process reads as dead.
 * Zombies count as dead: they hold no ports and do nothing.
 */
import * as fs from 'node:fs';

export interface ProcessIdentity {
  readonly pid: number;
  /** Start time in clock ticks since boot; undefined where /proc is not available. */
  readonly startTime?: string;
}

interface ProcStat {
  readonly state: string;
  readonly pgid: number;
  readonly startTime: string;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], pgid: Number(fields[2]), startTime: fields[19] };
  } catch {
    return undefined;
  }
}

const hasProc = fs.existsSync('/proc/self/stat');

/** The identity of a running process (its start time pins it against pid reuse). */
export function identify(pid: number): ProcessIdentity | undefined {
  if (!hasProc) return isSignalable(pid) ? { pid } : undefined;
  const stat = readStat(pid);
  return stat && stat.state !== 'Z' ? { pid, startTime: stat.startTime } : undefined;
}

/** True while the very process that `identity` describes is running (not a zombie, not a reused pid). */
export function isAlive(identity: ProcessIdentity | undefined): boolean {
  if (!identity || !Number.isInteger(identity.pid) || identity.pid <= 0) return false;
  if (!hasProc) return isSignalable(identity.pid);
  const stat = readStat(identity.pid);
  if (!stat || stat.state === 'Z') return false;
  return identity.startTime === undefined || stat.startTime === identity.startTime;
}

function isSignalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `pid startTime` on one line: the format of pid files. */
export function formatIdentity(identity: ProcessIdentity): string {
  return `${identity.pid} ${identity.startTime ?? '-'}\n`;
}

export function parseIdentity(text: string): ProcessIdentity | undefined {
  const [pid, startTime] = text.trim().split(/\s+/);
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  return { pid: n, startTime: startTime && startTime !== '-' ? startTime : undefined };
}

/** Pids of live processes whose argv contains every one of `needles` (Linux; empty elsewhere). */
export function findProcesses(needles: string[]): number[] {
  if (!hasProc) return [];
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (needles.every((needle) => argv.includes(needle)) && isAlive(identify(Number(entry)))) found.push(Number(entry));
  }
  return found;
}

/** Send a signal to a whole process group (the workload and what it spawned); a gone group is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Send a signal to one process; a gone process is fine. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Wait until `done()` holds, polling; false when `timeoutMs` passed first. */
export async function waitUntil(done: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Is there any live process left in a process group? */
export function groupAlive(pgid: number): boolean {
  if (!hasProc) return isSignalable(-pgid);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.pgid === pgid && stat.state !== 'Z') return true;
  }
  return false;
}
