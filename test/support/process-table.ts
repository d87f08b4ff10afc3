/**
 * What runs on this machine for a state directory, read from /proc: every process whose command line,
 * working directory or environment names the folder. The local driver's supervisors take it in argv,
 * workloads run in it and inherit `LIVESTACK_STORAGE_DIR` under it, and so do the nginx and ffmpeg
 * processes they start. Linux only (as the local driver's process checks).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

export type ProcessKind = 'supervisor' | 'workload' | 'nginx' | 'ffmpeg' | 'other';

export interface StackProcess {
  readonly pid: number;
  readonly kind: ProcessKind;
  readonly command: string;
}

export function processesOf(stateDir: string): StackProcess[] {
  const found: StackProcess[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const read = (file: string) => {
      try {
        return fs.readFileSync(`/proc/${entry}/${file}`, 'utf8');
      } catch {
        return '';
      }
    };
    // Zombies hold nothing (no ports, no files) and are their parent's to reap.
    const stat = read('stat');
    if (stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
    const argv = read('cmdline').split('\0').filter(Boolean);
    let cwd = '';
    try {
      cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
    const mentions = argv.some((a) => a.includes(stateDir)) || cwd.startsWith(stateDir) || read('environ').includes(stateDir);
    if (!mentions) continue;
    const name = read('comm').trim();
    const kind: ProcessKind = argv.includes('supervise') ? 'supervisor'
      : argv.includes('dataplane') ? 'workload'
        : name === 'nginx' ? 'nginx'
          : name === 'ffmpeg' ? 'ffmpeg' : 'other';
    found.push({ pid: Number(entry), kind, command: argv.join(' ') });
  }
  return found;
}

/** True when something can listen on 127.0.0.1:port right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
