/**
 * nginx as a child of the balancer's control process: started in the foreground with a config file
 * in its working folder, reloaded in place (SIGHUP: new workers, in-flight requests finish on the old
 * ones), stopped gracefully (SIGQUIT) with a bound. It shares the workload's process group, so a
 * supervisor that kills the workload kills nginx with it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const STOP_GRACE_MS = 5_000;

export class NginxProcess {
  private child?: ChildProcess;
  private exit?: Promise<string>;
  private readonly configFile: string;

  /** @param binary the nginx executable (`nginx` on PATH; Debian's is /usr/sbin/nginx) */
  constructor(private readonly workDir: string, private readonly binary = 'nginx') {
    this.configFile = path.join(workDir, 'nginx.conf');
  }

  /** Resolves with why nginx stopped (for the workload's exit message). */
  get exited(): Promise<string> {
    if (!this.exit) throw new Error('nginx was not started');
    return this.exit;
  }

  /** Start nginx and wait until it accepts connections on `host:port` (or fail with its reason). */
  async start(config: string, probe: { host: string; port: number }, timeoutMs = 10_000): Promise<void> {
    fs.writeFileSync(this.configFile, config);
    // -e: the error log before the config is read goes to stderr too (the default path is root's).
    const child = spawn(this.binary, ['-p', this.workDir, '-e', 'stderr', '-c', this.configFile], { stdio: ['ignore', 'inherit', 'inherit'] });
    this.child = child;
    this.exit = new Promise((resolve) => {
      child.once('error', (error) => resolve(`could not start ${this.binary}: ${error.message}`));
      child.once('exit', (code, signal) => resolve(signal ? `nginx was killed by ${signal}` : `nginx exited with code ${code}`));
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const outcome = await Promise.race([this.exit, connects(probe.host, probe.port).then((ok) => (ok ? 'listening' : undefined))]);
      if (outcome === 'listening') return;
      if (outcome !== undefined) throw new Error(`${outcome} before it listened on ${probe.host}:${probe.port} (its messages are above)`);
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${probe.host}:${probe.port} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Replace the config and reload: nginx keeps serving with the old one if the new one is invalid. */
  reload(config: string): void {
    fs.writeFileSync(this.configFile, config);
    this.child?.kill('SIGHUP');
  }

  /** Reopen the log files (after the access log was renamed); no reload, no connection closed. */
  reopenLogs(): void {
    this.child?.kill('SIGUSR1');
  }

  /** Graceful stop (in-flight requests finish), SIGKILL after the grace period. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exit;
    clearTimeout(timer);
  }
}

function connects(host: string, port: number): Promise<boolean> {
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return new Promise((resolve) => {
    const socket = net.connect({ host: target, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
