/**
 * A Docker engine of a test's own: dockerd with its own data root, exec root (and so its own managed
 * containerd), socket, pid file and config, no default bridge, no iptables rules and its own address
 * pool, so restarting or breaking it never touches the machine's shared engine or its networking.
 * Published ports work through docker-proxy on the host. Images come from the shared engine
 * (`docker save | docker load`: no registry here).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';

export interface PrivateDockerd {
  /** `unix:///.../docker.sock`, for DOCKER_HOST. */
  readonly host: string;
  readonly docker: Docker;
  /** Copy an image of the shared engine into this one. */
  loadImage(image: string): void;
  /** Stop the daemon (SIGTERM: its containers stop with it) and start it again; resolves once it answers. */
  restart(): Promise<void>;
  /** Remove everything it holds, stop it, delete its folders. */
  destroy(): Promise<void>;
}

export async function startPrivateDockerd(): Promise<PrivateDockerd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-dockerd-'));
  const socket = path.join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  fs.writeFileSync(path.join(dir, 'daemon.json'), '{}\n');
  const args = [
    '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '--pidfile', path.join(dir, 'docker.pid'),
    '--config-file', path.join(dir, 'daemon.json'), '-H', host,
    '--bridge', 'none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--default-address-pool', 'base=10.213.0.0/16,size=24',
  ];
  const log = path.join(dir, 'dockerd.log');
  const docker = new Docker({ socketPath: socket });
  let daemon: ChildProcess | undefined;

  const start = async () => {
    const out = fs.openSync(log, 'a');
    daemon = spawn('dockerd', args, { stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (daemon.exitCode !== null) throw new Error(`private dockerd exited while starting:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
      try {
        await docker.ping();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`private dockerd did not answer within 60 s:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  const stop = async () => {
    const running = daemon;
    daemon = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    const killer = setTimeout(() => running.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(killer);
  };

  await start();
  return {
    host,
    docker,
    loadImage(image) {
      execFileSync('sh', ['-c', `docker save "$0" | docker -H "$1" load -q`, image, host], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
    },
    async restart() {
      await stop();
      await start();
    },
    async destroy() {
      try {
        for (const c of await docker.listContainers({ all: true })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
        for (const n of await docker.listNetworks()) if (!['none', 'host', 'bridge'].includes(n.Name)) await docker.getNetwork(n.Id).remove().catch(() => undefined);
        for (const v of (await docker.listVolumes()).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
      } catch {
        // The daemon is not answering: its folders go anyway.
      }
      await stop();
      // Mounts it may have left (overlays, netns) before the folder can go.
      const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(dir)).reverse();
      for (const mount of mounts) {
        try {
          execFileSync('umount', ['-l', mount]);
        } catch {
          // Already gone.
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
