/**
 * CPU time of a process and its descendants, from /proc (utime + stime of every thread): how much
 * work a server did for a run, whatever else the machine was doing meanwhile.
 */
import * as fs from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by `pid` and every process below it. */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const id of [pid, ...descendants(pid)]) {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const stat = fs.readFileSync(`/proc/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended meanwhile: its time is gone with it.
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/** Every process below `pid`, children first. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const task of tasks) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter(Boolean).map(Number)) found.push(child, ...descendants(child));
  }
  return found;
}
