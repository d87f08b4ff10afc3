/**
 * The swarm driver: each workload is a Docker Swarm service, created through a manager's Engine API
 * (dockerode's services API) from the same rendering the Terraform synth maps onto `docker_service`
 * (lib/render/swarm-service.ts): replicas for origins, Docker secrets, health checks, restart and update
 * policy, placement. Swarm itself reschedules the tasks of a lost host and restarts failing tasks; the
 * controller repairs the rest (a service removed, scaled or changed outside livestack).
 *
 * It observes through the engine only (services, their tasks, the nodes they run on): the account's
 * storage lives on the hosts, so a live config reaches a workload through a one-off job on the swarm
 * (`write-live-config`, next to the workload's storage), and the service's live-hash label records it.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type Docker from 'dockerode';
import { LABELS } from '../../contract/labels';
import { writeLiveConfigCommand } from '../../contract/tasks';
import { WorkloadSpec } from '../../contract/workload-spec';
import { NotASwarmWorkloadError, SwarmService, secretFingerprint, swarmSecretName, swarmService } from '../../render/swarm-service';
import { TerminalError } from '../errors';
import { Driver, DriverContext, ObservedWorkload, WorkloadPhase } from './driver';
import { DockerConnection, connectDocker, engineAnswers, engineMessage, engineStatus } from './docker-client';
import { demuxLogs, workloadLogs } from './docker-logs';
import { resolveSecretEnv } from './secret-env';
import { BoundSecret, EngineServiceSpec, serviceSpec } from './swarm-service-spec';
import { DEFAULT_TASK_TIMEOUT_MS, TaskFailedError } from './task-output';

/** Label of a one-off job service (Driver.runTask): the workload it ran next to. */
const TASK_LABEL = 'livestack.task-of';

/** What the Engine API says of a service (the fields livestack reads). */
interface ServiceInfo {
  ID: string;
  Version: { Index: number };
  CreatedAt?: string;
  Spec: EngineServiceSpec & { TaskTemplate: { ForceUpdate?: number } & Record<string, unknown>; Mode: { Replicated?: { Replicas?: number } } };
  UpdateStatus?: { State?: string; Message?: string };
}

interface TaskInfo {
  ID: string;
  NodeID?: string;
  DesiredState?: string;
  CreatedAt?: string;
  Status?: { State?: string; Err?: string; Timestamp?: string; ContainerStatus?: { ExitCode?: number } };
}

/** Task states before `running`: swarm keeps a task with a health check in `starting` until it passes. */
const STARTING_STATES = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting']);

export class SwarmDriver implements Driver {
  readonly kind = 'swarm' as const;
  private readonly env: NodeJS.ProcessEnv;
  private readonly connection: DockerConnection;

  constructor(context: DriverContext) {
    this.env = context.env ?? process.env;
    this.connection = connectDocker(this.env);
  }

  private get docker(): Docker {
    return this.connection.docker;
  }

  async observe(): Promise<ObservedWorkload[]> {
    const services = await this.call('listing services', () => this.docker.listServices({ filters: { label: [`${LABELS.managedBy}=livestack`] } })) as unknown as ServiceInfo[];
    if (services.length === 0) return [];
    const [tasks, nodes] = await Promise.all([
      this.call('listing tasks', () => this.docker.listTasks()) as Promise<unknown> as Promise<TaskInfo[]>,
      this.nodeAddresses(),
    ]);
    const byService = new Map<string, TaskInfo[]>();
    for (const task of tasks) {
      const service = (task as { ServiceID?: string }).ServiceID ?? '';
      (byService.get(service) ?? byService.set(service, []).get(service)!).push(task);
    }
    return services
      .map((service) => observedService(service, byService.get(service.ID) ?? [], nodes))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async create(spec: WorkloadSpec): Promise<void> {
    const rendered = this.render(spec);
    // Secrets first: a missing variable must leave everything as it is (nothing removed, nothing started).
    const secrets = await this.bindSecrets(spec, rendered);
    // A new task reads its control file (on the shared storage) before its boot env: it must hold this config.
    if (spec.liveConfig !== undefined) await this.runTask(spec, writeLiveConfigCommand());
    const body = serviceSpec(rendered, secrets);
    const existing = await this.inspect(spec.name);
    if (!existing) {
      await this.call(`creating service ${spec.name}`, () => this.docker.createService(body as unknown as Docker.CreateServiceOptions));
      return;
    }
    // An existing service is updated in place: swarm rolls its tasks over in the workload's update order
    // (start-first origins keep serving; a stop-first ingest never has two writers). ForceUpdate makes the
    // roll happen even when nothing changed, which is how a failed workload is repaired.
    const forced = { ...body, TaskTemplate: { ...body.TaskTemplate, ForceUpdate: (existing.Spec.TaskTemplate.ForceUpdate ?? 0) + 1 } };
    await this.update(spec.name, existing, forced);
  }

  async updateLive(spec: WorkloadSpec): Promise<void> {
    const existing = await this.inspect(spec.name);
    if (!existing) throw new Error(`workload ${spec.name}: cannot deliver live config, the service does not exist`);
    if (spec.liveConfig !== undefined && existing.Spec.Labels[LABELS.liveHash] !== spec.liveHash) await this.runTask(spec, writeLiveConfigCommand());
    // Service labels and the replica count change no task: nothing restarts.
    const fresh = (await this.inspect(spec.name)) ?? existing;
    await this.update(spec.name, fresh, {
      ...fresh.Spec,
      Labels: { ...fresh.Spec.Labels, [LABELS.liveHash]: spec.liveHash },
      Mode: { Replicated: { Replicas: spec.replicas ?? 1 } },
    });
  }

  async runTask(spec: WorkloadSpec, command: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
    const rendered = this.render(spec);
    const createdSecrets = new Set<string>();
    const secrets = await this.bindSecrets(spec, rendered, createdSecrets);
    const task = `${command.slice(1, 2).join('')} for ${spec.name}`;
    const name = `${spec.name}-task-${randomBytes(4).toString('hex')}`;
    // The workload's task without its ports, health check, reservations and livestack labels (observe() must not see
    // a job as a workload), run once to completion on any node that can run the workload.
    // No reservations either: a job of a few seconds must not wait for a host with a transcoder's share of CPU free.
    const unreserved = { ...rendered.resources, reservations: {} };
    const body = serviceSpec({ ...rendered, name, command, ports: [], labels: { [TASK_LABEL]: spec.name }, containerLabels: { [TASK_LABEL]: spec.name }, replicas: 1, resources: unreserved }, secrets);
    const template = body.TaskTemplate as { ContainerSpec: Record<string, unknown> };
    const { UpdateConfig: _update, ...jobBody } = body;
    // Swarm refuses an update config on a job.
    const job = {
      ...jobBody,
      TaskTemplate: { ...body.TaskTemplate, ContainerSpec: { ...template.ContainerSpec, Healthcheck: { Test: ['NONE'] } }, RestartPolicy: { Condition: 'none' } },
      Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
      EndpointSpec: { Mode: 'dnsrr', Ports: [] },
    };
    const timeoutMs = options.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
    const created = await this.call(`creating task ${task}`, () => this.docker.createService(job as unknown as Docker.CreateServiceOptions)) as { id?: string; ID?: string };
    const service = this.docker.getService(created.id ?? created.ID ?? name);
    try {
      const deadline = Date.now() + timeoutMs;
      let state: TaskInfo['Status'] | undefined;
      for (;;) {
        const tasks = await this.docker.listTasks({ filters: { service: [name] } }) as unknown as TaskInfo[];
        state = tasks.find((t) => ['complete', 'failed', 'rejected', 'shutdown', 'orphaned'].includes(t.Status?.State ?? ''))?.Status;
        if (state) break;
        if (Date.now() > deadline) throw new TaskFailedError(task, `ran out of ${timeoutMs} ms`, '');
        await sleep(200);
      }
      const output = async (stream: 'stdout' | 'stderr') => demuxLogs(await service.logs({ stdout: stream === 'stdout', stderr: stream === 'stderr', follow: false }) as unknown as Buffer);
      if (state.State !== 'complete') {
        throw new TaskFailedError(task, `${state.State}${state.Err ? ` (${state.Err})` : ''}${state.ContainerStatus?.ExitCode ? `, exit ${state.ContainerStatus.ExitCode}` : ''}`, await output('stderr').catch(() => ''));
      }
      return await output('stdout');
    } finally {
      await service.remove().catch(() => undefined);
      // A job after its workload was deleted (recordings finalized from their files) created the workload's
      // secrets again: those it created go with it. (Before a workload is created, its secrets exist already.)
      for (const secret of secrets.filter((b) => createdSecrets.has(b.secretId))) await this.docker.getSecret(secret.secretId).remove().catch(() => undefined);
    }
  }

  async delete(name: string): Promise<void> {
    const existing = await this.inspect(name);
    try {
      await this.docker.getService(name).remove();
    } catch (error) {
      if (engineStatus(error) !== 404) throw new Error(`removing service ${name}: ${engineMessage(error)}`);
    }
    // Its Docker secrets go with it, unless another service still uses them (the engine refuses then:
    // the last one to go removes them).
    const secrets = (existing?.Spec.TaskTemplate as { ContainerSpec?: { Secrets?: { SecretID: string }[] } } | undefined)?.ContainerSpec?.Secrets ?? [];
    for (const secret of secrets) await this.docker.getSecret(secret.SecretID).remove().catch(() => undefined);
  }

  async logs(name: string, lines = 200): Promise<string> {
    return workloadLogs({
      name, kind: 'swarm', address: this.connection.address,
      fetch: () => this.docker.getService(name).logs({ stdout: true, stderr: true, tail: lines, follow: false }),
      known: async () => (await this.observe()).map((w) => w.name),
    });
  }

  /**
   * The account's shared storage, when this host mounts it too (a manager usually does): what `status`
   * and `token` read the account's generated secrets from. The controller itself never reads it.
   */
  async storageDir(account: string): Promise<string> {
    const services = await this.call('listing services', () => this.docker.listServices({ filters: { label: [`${LABELS.managedBy}=livestack`, `${LABELS.account}=${account}`] } })) as unknown as ServiceInfo[];
    for (const service of services) {
      const mounts = (service.Spec.TaskTemplate as { ContainerSpec?: { Mounts?: { Type: string; Source: string; Target: string }[] } }).ContainerSpec?.Mounts ?? [];
      const shared = mounts.find((m) => m.Type === 'bind' && m.Target === '/var/lib/livestack');
      if (shared && fs.existsSync(shared.Source)) return shared.Source;
    }
    throw new Error(`account ${account}: its storage is on the swarm's hosts, not mounted on this one (mount its shared filesystem here at the account's storage.shared.hostPath)`);
  }

  async close(): Promise<void> {
    this.connection.close();
  }

  private render(spec: WorkloadSpec): SwarmService {
    try {
      return swarmService(spec);
    } catch (error) {
      if (error instanceof NotASwarmWorkloadError) throw new TerminalError(`workload ${spec.name}`, `${error.message}: declare it with Platform.swarm() to run it with the swarm driver`);
      throw error;
    }
  }

  /** The Docker secrets of a workload, created from the runtime's `TF_VAR_*` values when missing. */
  /** Binds the workload's secrets; the ids of those it had to create are added to `created`. */
  private async bindSecrets(spec: WorkloadSpec, rendered: SwarmService, created = new Set<string>()): Promise<BoundSecret[]> {
    const values = resolveSecretEnv(spec, this.env);
    const bound: BoundSecret[] = [];
    for (const ref of rendered.secrets) {
      const secretName = swarmSecretName(spec.account, ref.variable, secretFingerprint(values[ref.env]));
      bound.push({ ref, secretName, secretId: await this.ensureSecret(secretName, values[ref.env], spec.account, created) });
    }
    return bound;
  }

  private async ensureSecret(name: string, value: string, account: string, created: Set<string>): Promise<string> {
    const existing = await this.docker.listSecrets({ filters: { name: [name] } }) as unknown as { ID: string; Spec?: { Name?: string } }[];
    const found = existing.find((s) => s.Spec?.Name === name);
    if (found) return found.ID;
    try {
      const made = await this.docker.createSecret({
        Name: name,
        Labels: { [LABELS.managedBy]: 'livestack', [LABELS.account]: account },
        Data: Buffer.from(value, 'utf8').toString('base64'),
      }) as unknown as { id?: string; ID?: string };
      const id = made.id ?? made.ID ?? '';
      created.add(id);
      return id;
    } catch (error) {
      // Created meanwhile by a concurrent create of another workload of the account.
      if (engineStatus(error) === 409) return this.ensureSecret(name, value, account, created);
      // The engine's message never contains the value; ours names the secret, not what it holds.
      throw new Error(`creating Docker secret ${name}: ${engineMessage(error)}`);
    }
  }

  private async update(name: string, existing: ServiceInfo, spec: EngineServiceSpec): Promise<void> {
    await this.call(`updating service ${name}`, () => this.docker.getService(existing.ID).update({ ...spec, version: existing.Version.Index } as unknown as Record<string, unknown>));
  }

  private async inspect(name: string): Promise<ServiceInfo | undefined> {
    try {
      return await this.docker.getService(name).inspect() as ServiceInfo;
    } catch (error) {
      if (engineStatus(error) === 404) return undefined;
      throw new Error(`inspecting service ${name}: ${await this.why(error)}`);
    }
  }

  /** Swarm node id -> the address it is reached at. */
  private async nodeAddresses(): Promise<Map<string, string>> {
    const nodes = await this.call('listing nodes', () => this.docker.listNodes()) as unknown as { ID: string; Status?: { Addr?: string } }[];
    return new Map(nodes.map((n) => [n.ID, n.Status?.Addr ?? '']));
  }

  private async why(error: unknown): Promise<string> {
    if (engineStatus(error) === undefined && !(await engineAnswers(this.docker))) return `no Docker engine answers at ${this.connection.address} (point DOCKER_HOST at a swarm manager)`;
    return engineMessage(error);
  }

  /** An engine call whose failure names what was being done, and says so when no engine answers. */
  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const message = engineMessage(error);
      if (/not a swarm manager|This node is not a swarm manager/i.test(message)) {
        throw new TerminalError(`swarm at ${this.connection.address}`, `${message} (run \`docker swarm init\`, or point DOCKER_HOST at a manager)`);
      }
      throw new Error(`${what}: ${await this.why(error)}`);
    }
  }
}

/** Entry point for `createDriver('swarm', ...)`. */
export function createSwarmDriver(context: DriverContext): SwarmDriver {
  return new SwarmDriver(context);
}

/**
 * A service and its tasks as a workload: running when as many tasks run as it asks for; starting while
 * tasks are on their way; unhealthy (swarm is replacing them) when tasks fail. Swarm restarts failed
 * tasks itself, so a service is never `exited` for the plan unless it asks for no task at all.
 */
export function observedService(service: ServiceInfo, tasks: readonly TaskInfo[], nodes: ReadonlyMap<string, string>): ObservedWorkload {
  const labels = service.Spec.Labels ?? {};
  const wanted = service.Spec.Mode.Replicated?.Replicas ?? 1;
  const current = tasks.filter((t) => t.DesiredState === 'running');
  const running = current.filter((t) => t.Status?.State === 'running');
  const failed = tasks.filter((t) => ['failed', 'rejected'].includes(t.Status?.State ?? '')).sort((a, b) => ((a.Status?.Timestamp ?? '') < (b.Status?.Timestamp ?? '') ? 1 : -1));
  let phase: WorkloadPhase;
  let detail: string | undefined;
  if (wanted > 0 && running.length >= wanted) {
    phase = 'running';
  } else if (current.some((t) => STARTING_STATES.has(t.Status?.State ?? ''))) {
    phase = 'starting';
    detail = `${running.length} of ${wanted} tasks running, ${current.length - running.length} starting`;
  } else {
    phase = 'unhealthy';
    const last = failed[0]?.Status;
    detail = `${running.length} of ${wanted} tasks running${last?.Err ? `; last failure: ${last.Err}` : ''}; swarm is rescheduling`;
  }
  const addresses = [...new Set(running.map((t) => nodes.get(t.NodeID ?? '') ?? '').filter(Boolean))].sort();
  const started = running.map((t) => t.Status?.Timestamp).filter((t): t is string => Boolean(t)).sort()[0];
  return {
    name: service.Spec.Name,
    account: labels[LABELS.account] ?? '',
    role: labels[LABELS.role] ?? '',
    owner: labels[LABELS.owner] ?? '',
    specHash: labels[LABELS.specHash] ?? '',
    liveHash: labels[LABELS.liveHash] ?? '',
    phase,
    ...(detail ? { detail } : {}),
    restarts: failed.length,
    ...(started ? { startedAt: started } : {}),
    replicas: wanted,
    addresses,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
