/**
 * nginx as the child of a workload (the ingest's RTMP front door, the balancer): unprivileged, in the
 * foreground, with its config, pid, temp folders and sockets in the workload's private folder; its
 * stderr (warnings and errors only) goes to the workload log. It shares the workload's process group,
 * so a supervisor that kills the workload kills nginx with it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { ChildExit } from './child-exit';
import { Logger } from './log';

/** Debian's nginx; elsewhere whatever `nginx` is on the PATH. */
export function nginxBinary(): string {
  return fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
}

/** Where to connect to reach a server listening on `host` (a wildcard means this machine). */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** An nginx `listen` address. */
export function listenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The main-context lines every workload nginx starts with: foreground, pid in its folder, errors to stderr. */
export function foregroundPreamble(workDir: string, workers: number | 'auto'): string[] {
  return ['daemon off;', 'master_process on;', `worker_processes ${workers};`, `pid ${path.join(workDir, 'nginx.pid')};`, 'error_log stderr warn;'];
}

/** The `http` block's temp folders, in the workload's folder (the compiled-in ones are root's). */
export function httpTempPaths(workDir: string): string[] {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${path.join(workDir, kind.replace('_', '-'))};`);
}

export class NginxError extends Error {}

export class NginxProcess {
  private child?: ChildProcess;
  private exit?: ChildExit;
  private readonly configFile: string;

  constructor(private readonly workDir: string, private readonly log: Logger, private readonly binary = nginxBinary()) {
    this.configFile = path.join(workDir, 'nginx.conf');
  }

  /**
   * Writes the config, starts nginx and resolves once `host:port` accepts connections.
   * Rejects with nginx's own words when the config is refused or the port is taken.
   */
  async start(config: string, host: string, port: number, timeoutMs = 10_000): Promise<void> {
    fs.writeFileSync(this.configFile, config);
    const stderr: string[] = [];
    // -e: the error log before the config is read goes to stderr too (the default path is root's).
    const child = spawn(this.binary, ['-p', this.workDir, '-e', 'stderr', '-c', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      if (stderr.length < 20) stderr.push(line);
      this.log.info(`nginx: ${line}`);
    });
    this.exit = new ChildExit(child, 'nginx', this.binary);
    const deadline = Date.now() + timeoutMs;
    let exited: string | undefined;
    void this.exit.ended.then((why) => { exited = why; });
    while (Date.now() < deadline) {
      if (exited) throw new NginxError(`${exited}: ${stderr.join(' | ') || 'no message'}`);
      // nginx writes its pid file after binding its ports: a connection accepted before that would be
      // some other process's (then nginx exits with "Address already in use").
      if (this.wrotePidFile(child.pid) && (await accepts(connectHost(host), port))) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new NginxError(`nginx did not listen on ${host}:${port} within ${timeoutMs} ms: ${stderr.join(' | ') || 'no message'}`);
  }

  /** Replace the config and reload (SIGHUP: new workers; in-flight requests finish on the old ones). nginx keeps the old config if the new one is invalid. */
  reload(config: string): void {
    fs.writeFileSync(this.configFile, config);
    this.child?.kill('SIGHUP');
  }

  /** Reopen the log files (after the access log was renamed); no reload, no connection closed. */
  reopenLogs(): void {
    this.child?.kill('SIGUSR1');
  }

  /** Resolves with why nginx ended, unless it was stopped on purpose (then never). */
  died(): Promise<string> {
    return this.exit?.died() ?? new Promise<string>(() => undefined);
  }

  /** Graceful shutdown (SIGQUIT lets workers finish), SIGKILL after `graceMs`. */
  async stop(graceMs = 2_000): Promise<void> {
    const child = this.child;
    if (!child || !this.exit) return;
    await this.exit.stop((c) => c.kill('SIGQUIT'), graceMs);
    // A worker left behind by a killed master still holds the pipe: let go of it, or the workload never exits.
    child.stderr?.destroy();
  }

  private wrotePidFile(pid: number | undefined): boolean {
    try {
      return pid !== undefined && Number(fs.readFileSync(path.join(this.workDir, 'nginx.pid'), 'utf8').trim()) === pid;
    } catch {
      return false;
    }
  }
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
