/**
 * The docker driver: each workload is a container on a Docker engine, created through the Engine API
 * (dockerode) from the same workload spec the Terraform synth renders (docker-container-spec.ts), on
 * the account's network and storage volume (created when missing).
 *
 * Like the local driver it remembers nothing: `observe()` lists the livestack-labelled containers and
 * inspects them on every call. A container that is missing, has exited or that Docker marks unhealthy
 * is therefore seen as such at once, and the controller's plan creates or replaces it.
 *
 * The engine must be local: the runtime reads and writes the account's storage volume through its
 * host mountpoint (live config control files, ingest health), as the local driver does with its
 * storage folder. A remote DOCKER_HOST can run containers but not deliver live config.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { ContainerInspectInfo } from 'dockerode';
import { LABELS } from '../../contract/labels';
import { STORAGE_MOUNT, WorkloadSpec } from '../../contract/workload-spec';
import { storagePaths } from '../../contract/storage-layout';
import { contentHash } from '../../util/stable-json';
import { Driver, DriverContext, ObservedWorkload } from './driver';
import { DockerConnection, connectDocker, engineAnswers, engineMessage, engineStatus } from './docker-client';
import { ensureNetwork, ensureVolume, labelledVolumeMountpoint } from './docker-account';
import { ensureImage } from './docker-image';
import { containerCreateOptions } from './docker-container-spec';
import { resolveSecretEnv } from './secret-env';
import { dockerContainer, storageVolumeOf } from '../../render/docker-container';
import { demuxLogs, workloadLogs } from './docker-logs';
import { DEFAULT_TASK_TIMEOUT_MS, TaskFailedError } from './task-output';
import { writeControlFile } from './control-file';
import { observedFromInspect } from './docker-observe';
import { packageRoot } from '../../util/package-root';

/** Label of a task container (Driver.runTask): the workload it ran next to. */
const TASK_LABEL = 'livestack.task-of';

/** Seconds a workload gets to stop after SIGTERM (segments flushed, connections closed) before SIGKILL. */
const STOP_GRACE_SECONDS = 8;

export interface DockerDriverOptions {
  /** The livestack package whose images/Dockerfile builds a missing runtime image; default this one. */
  readonly packageRoot?: string;
  /** Progress lines of slow steps (an image build). */
  readonly log?: (line: string) => void;
}

export class DockerDriver implements Driver {
  readonly kind = 'docker' as const;
  private readonly env: NodeJS.ProcessEnv;
  private readonly connection: DockerConnection;
  private readonly packageRoot: string;
  /** Concurrent creates share one image build and one network/volume creation per account. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(context: DriverContext, private readonly options: DockerDriverOptions = {}) {
    this.env = context.env ?? process.env;
    this.connection = connectDocker(this.env);
    this.packageRoot = options.packageRoot ?? packageRoot();
  }

  private get docker() {
    return this.connection.docker;
  }

  async observe(): Promise<ObservedWorkload[]> {
    const listed = await this.call('listing containers', () => this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.managedBy}=livestack`] },
    }));
    const inspected = await Promise.all(listed.map((c) => this.inspect(c.Id)));
    return inspected
      .filter((info): info is ContainerInspectInfo => info !== undefined)
      .map((info) => observedFromInspect(info, deliveredLiveHash(info)))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async create(spec: WorkloadSpec): Promise<void> {
    // Secrets first: a missing variable must leave everything as it is (nothing removed, nothing started).
    const secrets = resolveSecretEnv(spec, this.env);
    const rendered = dockerContainer(spec);
    await this.once(`image ${rendered.image} ${rendered.imageBuild?.baseImage ?? ''}`, () => ensureImage(this.docker, rendered.image, rendered.imageBuild, {
      packageRoot: this.packageRoot,
      log: this.options.log,
    }));
    const storage = await this.ensureAccount(rendered.network, storageVolumeOf(rendered), spec.account);
    await this.stopAndRemove(spec.name);
    if (spec.liveConfig !== undefined && storage) writeControlFile(storage, spec);
    const container = await this.call(`creating container ${spec.name}`, () => this.docker.createContainer(containerCreateOptions(rendered, secrets)));
    try {
      await this.call(`starting container ${spec.name}`, () => container.start());
    } catch (error) {
      // A container that could not start (its port taken, say) must not linger looking like one that is starting.
      await container.remove({ force: true }).catch(() => undefined);
      throw error;
    }
  }

  async updateLive(spec: WorkloadSpec): Promise<void> {
    const info = await this.inspect(spec.name);
    if (!info) throw new Error(`workload ${spec.name}: cannot deliver live config, the container does not exist`);
    const storage = storageMountpoint(info);
    if (!storage) throw new Error(`workload ${spec.name}: its container has no storage volume at ${STORAGE_MOUNT}`);
    writeControlFile(storage, spec);
  }

  async runTask(spec: WorkloadSpec, command: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
    const secrets = resolveSecretEnv(spec, this.env);
    const rendered = dockerContainer(spec);
    const task = `${command.slice(1, 2).join('')} for ${spec.name}`;
    // The workload's container without its ports, health check, aliases and livestack labels (observe()
    // must not see a task as a workload), and removed once read.
    const body = containerCreateOptions({ ...rendered, name: `${spec.name}-task-${randomBytes(4).toString('hex')}`, command, ports: [], aliases: [], labels: { [TASK_LABEL]: spec.name } }, secrets);
    body.Healthcheck = { Test: ['NONE'] };
    body.HostConfig = { ...body.HostConfig, RestartPolicy: { Name: 'no' } };
    const container = await this.call(`creating task ${task}`, () => this.docker.createContainer(body));
    const timeoutMs = options.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
    try {
      await this.call(`starting task ${task}`, () => container.start());
      const timer = setTimeout(() => { container.kill().catch(() => undefined); }, timeoutMs);
      const exit = await container.wait().finally(() => clearTimeout(timer)) as { StatusCode: number };
      const output = async (stream: 'stdout' | 'stderr') => demuxLogs(await container.logs({ stdout: stream === 'stdout', stderr: stream === 'stderr', follow: false }) as unknown as Buffer);
      if (exit.StatusCode !== 0) throw new TaskFailedError(task, exit.StatusCode === 137 ? `ran out of ${timeoutMs} ms` : `exited with ${exit.StatusCode}`, await output('stderr'));
      return await output('stdout');
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  async delete(name: string): Promise<void> {
    const info = await this.inspect(name);
    if (!info) return;
    await this.stopAndRemove(name);
    const storage = storageMountpoint(info);
    if (storage) fs.rmSync(storagePaths.controlFile(storage, name), { force: true });
  }

  async logs(name: string, lines = 200): Promise<string> {
    return workloadLogs({
      name, kind: 'docker', address: this.connection.address,
      fetch: () => this.docker.getContainer(name).logs({ stdout: true, stderr: true, tail: lines, follow: false }),
      known: async () => (await this.observe()).map((w) => w.name),
    });
  }

  async storageDir(account: string): Promise<string> {
    // What the account's workloads really mount, else the volume the driver (or Terraform) labelled.
    const listed = await this.call('listing containers', () => this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.managedBy}=livestack`, `${LABELS.account}=${account}`] },
    }));
    for (const container of listed) {
      const mount = container.Mounts?.find((m) => m.Destination === STORAGE_MOUNT);
      if (mount?.Source) return mount.Source;
    }
    const labelled = await this.call('listing volumes', () => labelledVolumeMountpoint(this.docker, account));
    if (labelled) return labelled;
    throw new Error(`account ${account} has no storage volume on the Docker engine at ${this.connection.address} yet (apply creates it)`);
  }

  async close(): Promise<void> {
    this.connection.close();
  }

  /** An account's network and storage volume; returns the volume's host mountpoint. */
  private async ensureAccount(network: string, volume: string | undefined, account: string): Promise<string | undefined> {
    await this.once(`network ${network}`, () => this.call(`network ${network}`, () => ensureNetwork(this.docker, network, account)));
    if (!volume) return undefined;
    return this.once(`volume ${volume}`, () => this.call(`volume ${volume}`, () => ensureVolume(this.docker, volume, account)));
  }

  /** Stop with a grace period, then remove; a container that is not there is fine. */
  private async stopAndRemove(name: string): Promise<void> {
    const container = this.docker.getContainer(name);
    try {
      await container.stop({ t: STOP_GRACE_SECONDS });
    } catch (error) {
      // 304: already stopped; 404: gone.
      const status = engineStatus(error);
      if (status !== 304 && status !== 404) throw new Error(`stopping container ${name}: ${engineMessage(error)}`);
      if (status === 404) return;
    }
    try {
      await container.remove({ force: true, v: false });
    } catch (error) {
      const status = engineStatus(error);
      // 409 "removal already in progress": someone else is removing it; wait until the name is free.
      if (status === 409) await this.waitGone(name);
      else if (status !== 404) throw new Error(`removing container ${name}: ${engineMessage(error)}`);
    }
  }

  private async waitGone(name: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (await this.inspect(name)) {
      if (Date.now() > deadline) throw new Error(`container ${name} is still being removed after 15 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async inspect(idOrName: string): Promise<ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(idOrName).inspect();
    } catch (error) {
      // Removed between list and inspect: it is simply gone.
      if (engineStatus(error) === 404) return undefined;
      throw new Error(`inspecting container ${idOrName}: ${engineMessage(error)}`);
    }
  }

  /** One run of `work` per key at a time; callers arriving meanwhile share its result. */
  private once<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const started = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  /** An engine call whose failure names what was being done and, when the engine is down, says so. */
  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (engineStatus(error) === undefined && !(await engineAnswers(this.docker))) {
        throw new Error(`${what}: no Docker engine answers at ${this.connection.address} (start it, e.g. \`bash scripts/docker-env.sh --daemon-only\` as root)`);
      }
      throw error instanceof Error && error.message.startsWith(what) ? error : new Error(`${what}: ${engineMessage(error)}`);
    }
  }
}

/** Entry point for `createDriver('docker', ...)`. */
export function createDockerDriver(context: DriverContext): DockerDriver {
  return new DockerDriver(context);
}

/** Host path of the account storage a container mounts. */
function storageMountpoint(info: ContainerInspectInfo): string | undefined {
  return info.Mounts?.find((m) => m.Destination === STORAGE_MOUNT)?.Source || undefined;
}

/**
 * The live hash a workload was last given: the hash of its control file's content (written by create
 * and updateLive) — the same `contentHash(liveConfig)` topology puts in the spec. Without a control
 * file (a workload with no live config), the hash it was created with (its label).
 */
function deliveredLiveHash(info: ContainerInspectInfo): string | undefined {
  const storage = storageMountpoint(info);
  if (!storage) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(storagePaths.controlFile(storage, info.Name.replace(/^\//, '')), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return contentHash(JSON.parse(text));
  } catch {
    // A control file someone mangled: report a hash no spec has, so the plan delivers the config again.
    return `unreadable-${contentHash(text)}`;
  }
}
