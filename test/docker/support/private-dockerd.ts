/**
 * A Docker engine of a test's own: dockerd with its own data root, exec root (and so its own managed
 * containerd), socket, pid file and config, its own default bridge and no iptables rules, so restarting
 * or breaking it never touches the machine's shared engine or its networking.
 *
 * It runs in the host's network namespace, where dockerd 20.10 deletes the interface named docker0 (the
 * shared engine's bridge; every later `docker build` there then fails with "could not find bridge
 * docker0") in two cases, both avoided here: on every start with `--bridge none`, and on a restart with
 * `--default-address-pool` (clearing its stale default network). So it gets a bridge of its own and
 * takes its networks' subnets from Docker's default pools, which skip the routes the host already has.
 * Published ports work through docker-proxy on the host. Images come from the shared engine
 * (`docker save | docker load`: no registry here).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
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
  const bridge = createBridge();
  const socket = path.join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  fs.writeFileSync(path.join(dir, 'daemon.json'), '{}\n');
  const args = [
    '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '--pidfile', path.join(dir, 'docker.pid'),
    '--config-file', path.join(dir, 'daemon.json'), '-H', host,
    '--bridge', bridge, '--iptables=false', '--ip6tables=false', '--ip-masq=false',
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

  try {
    await start();
  } catch (error) {
    deleteBridge(bridge);
    throw error;
  }
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
      deleteBridge(bridge);
    },
  };
}

/**
 * The private engine's default bridge. dockerd creates only a bridge named docker0 itself; one of
 * another name must exist before it starts, with the address it hands out from.
 */
function createBridge(): string {
  const name = `lspd${crypto.randomBytes(4).toString('hex')}`;
  const subnet = 1 + crypto.randomInt(250);
  execFileSync('ip', ['link', 'add', name, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', `10.214.${subnet}.1/24`, 'dev', name]);
  execFileSync('ip', ['link', 'set', name, 'up']);
  return name;
}

function deleteBridge(name: string): void {
  try {
    execFileSync('ip', ['link', 'delete', name], { stdio: 'ignore' });
  } catch {
    // Already gone.
  }
}
