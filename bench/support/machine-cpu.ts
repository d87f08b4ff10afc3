/** Share of the machine's CPU time spent busy between two readings of /proc/stat (all cores together). */
import * as fs from 'node:fs';

export interface CpuReading {
  readonly busy: number;
  readonly total: number;
}

export function readMachineCpu(): CpuReading {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...: idle and iowait are the idle time.
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3] - fields[4], total };
}

/** Busy share (0-1) from `before` to now. */
export function busySince(before: CpuReading): number {
  const now = readMachineCpu();
  return now.total === before.total ? 0 : (now.busy - before.busy) / (now.total - before.total);
}
