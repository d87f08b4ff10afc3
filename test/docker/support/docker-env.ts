/**
 * What the Docker suites share: a running daemon and the runtime image (scripts/docker-env.sh, which
 * CI lets install Docker first), and clean-up of everything a suite created on the engine.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Manifest } from '../../../lib/model/manifest';
import { LABELS } from '../../../lib/contract/labels';
import { TestManifestOptions, testManifest } from '../../../bench/support/manifest-fixtures';

const ROOT = path.join(__dirname, '..', '..', '..');

/** The first run builds a Debian base image and the runtime image: minutes, once per machine. */
export const PREPARE_TIMEOUT_MS = 30 * 60_000;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: PREPARE_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function installed(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * A daemon that answers and the runtime image, built when its inputs changed; returns the image name.
 * In CI, Docker itself is installed first when missing.
 */
export async function prepareDocker(): Promise<string> {
  if (process.env.CI === 'true' && !(installed('dockerd') && installed('debootstrap'))) {
    await run('bash', ['scripts/setup.sh', '--quiet', '--with', 'docker']);
  }
  // Apps synthesized by the suites build their image on the base docker-env.sh makes here (no registry
  // is reachable), as a user without a registry would: RuntimeImage.build() reads it at synth time.
  process.env.LIVESTACK_BASE_IMAGE ??= 'livestack/base:bookworm-node20';
  // dist/ was compiled by jest's global setup.
  const out = await run('bash', ['scripts/docker-env.sh', '--no-compile']);
  return out.trim().split('\n').pop()!;
}

/** Remove every container, network and volume of `accounts` (what a suite created), whatever their state. */
export async function removeAccounts(docker: Docker, accounts: string[]): Promise<void> {
  for (const account of accounts) {
    const filters = { label: [`${LABELS.managedBy}=livestack`, `${LABELS.account}=${account}`] };
    for (const container of await docker.listContainers({ all: true, filters })) {
      await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
    }
    for (const network of await docker.listNetworks({ filters })) {
      await docker.getNetwork(network.Id).remove().catch(() => undefined);
    }
    const { Volumes } = await docker.listVolumes({ filters });
    for (const volume of Volumes ?? []) await docker.getVolume(volume.Name).remove().catch(() => undefined);
  }
}

/** Containers, networks and volumes of `account` still on the engine (a suite asserts none is left). */
export async function leftovers(docker: Docker, account: string): Promise<string[]> {
  const filters = { label: [`${LABELS.managedBy}=livestack`, `${LABELS.account}=${account}`] };
  const containers = (await docker.listContainers({ all: true, filters })).map((c) => `container ${c.Names[0]}`);
  const networks = (await docker.listNetworks({ filters })).map((n) => `network ${n.Name}`);
  const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => `volume ${v.Name}`);
  return [...containers, ...networks, ...volumes];
}

/** The runtime test manifest (test/runtime/fixtures) running `image`, with its account's workloads. */
export async function dockerTestManifest(image: string, options: TestManifestOptions = {}, scaleUnits = 0): Promise<Manifest> {
  const base = await testManifest(options);
  const account = base.accounts[0];
  return { ...base, accounts: [{ ...account, image, endpoints: account.endpoints.map((e) => ({ ...e, scaleUnits })) }] };
}

/** Whether `url` answers 2xx within `timeoutMs` (a workload serving on its published port). */
export async function answersOk(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
