/**
 * Runs nginx (in the foreground, `daemon off`) with a generated config in the workload's private
 * folder, and tells when it is listening or has died. Its stderr (warnings and errors only) goes to
 * the workload log.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Logger } from '../origin/log';
import { RTMP_MODULE_PATH } from './nginx-config';

/** Debian's nginx; elsewhere whatever `nginx` is on the PATH. */
export function nginxBinary(): string {
  return fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
}

export class NginxError extends Error {}

export class NginxProcess {
  private child?: ChildProcess;
  private exitPromise?: Promise<string>;
  private stopping = false;

  constructor(private readonly workDir: string, private readonly log: Logger) {}

  /**
   * Writes the config, starts nginx and resolves once `host:port` accepts connections.
   * Rejects with nginx's own words when the config is refused or the port is taken.
   */
  async start(config: string, host: string, port: number, timeoutMs = 10_000): Promise<void> {
    if (!fs.existsSync(RTMP_MODULE_PATH)) {
      throw new NginxError(`the nginx RTMP module is missing (${RTMP_MODULE_PATH}): install Debian's libnginx-mod-rtmp (apt-get install nginx libnginx-mod-rtmp)`);
    }
    const file = path.join(this.workDir, 'nginx.conf');
    fs.writeFileSync(file, config);
    const stderr: string[] = [];
    const child = spawn(nginxBinary(), ['-p', this.workDir, '-e', 'stderr', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      if (stderr.length < 20) stderr.push(line);
      this.log.info(`nginx: ${line}`);
    });
    this.exitPromise = new Promise((resolve) => {
      child.once('error', (error) => resolve(`could not start nginx: ${error.message}`));
      child.once('exit', (code, signal) => resolve(signal ? `nginx was killed by ${signal}` : `nginx exited with code ${code}`));
    });
    const deadline = Date.now() + timeoutMs;
    let exited: string | undefined;
    void this.exitPromise.then((why) => { exited = why; });
    while (Date.now() < deadline) {
      if (exited) throw new NginxError(`${exited}: ${stderr.join(' | ') || 'no message'}`);
      // nginx writes its pid file after binding its ports: a connection accepted before that would be
      // some other process's (then nginx exits with "Address already in use").
      if (this.wrotePidFile(child.pid) && (await accepts(connectHost(host), port))) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new NginxError(`nginx did not listen on ${host}:${port} within ${timeoutMs} ms: ${stderr.join(' | ') || 'no message'}`);
  }

  private wrotePidFile(pid: number | undefined): boolean {
    try {
      return pid !== undefined && Number(fs.readFileSync(path.join(this.workDir, 'nginx.pid'), 'utf8').trim()) === pid;
    } catch {
      return false;
    }
  }

  /** Resolves with why nginx ended, unless it was stopped on purpose (then never). */
  died(): Promise<string> {
    return new Promise((resolve) => {
      void this.exitPromise?.then((why) => {
        if (!this.stopping) resolve(why);
      });
    });
  }

  /** Graceful shutdown (SIGQUIT lets workers finish), SIGKILL after `graceMs`. */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await this.exitPromise;
      clearTimeout(killer);
    }
    // A worker left behind by a killed master still holds the pipe: let go of it, or the workload never exits.
    child.stderr?.destroy();
  }
}

/** Where to connect to reach a server listening on `host` (a wildcard means this machine). */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
