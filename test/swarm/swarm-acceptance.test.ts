/**
 * Issue 11 on the multi-host rig (scripts/rig), brought up once for the whole suite: first the rig itself
 * (three Ready managers on their own addresses, host-mode ports on each, one shared filesystem with hard
 * links), then examples/scaled's stack on it through `livestack apply --driver swarm` (real daemons, real
 * ffmpeg pushes, real HTTP from outside the hosts, hosts lost and restored), then the rig's own recovery
 * (the leader lost, restored over a crashed run's pid files) and its teardown. Each part prints how long it took.
 * Bounded: the suite tears the rig down whatever happens.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { RIG_NAMES, SwarmRig, SwarmRigNode, downSwarmRig, startSwarmRig } from '../../scripts/rig/swarm-rig';
import { PREPARE_TIMEOUT_MS, prepareDocker } from '../docker/support/docker-env';
import { ROOT, expectExit, livestack } from '../support/cli';
import { servedLocatorId } from '../support/locator-ids';
import { synthesizeApp } from '../../lib/app/run-app';
import { AccountManifest } from '../../lib/model/manifest';
import { encodeTestStream, LivePush, startLivePush } from '../../bench/support/live-push';
import { eventually } from '../runtime/support/eventually';
import { rigLeftovers, runOnNode, runningTaskNodes } from './support/rig-checks';

const run = promisify(execFile);
jest.setTimeout(20 * 60_000);

const KEY_VARIABLE = 'studio_key';
const LIVE_HASH = 'livestack.live-hash';
const createHashHex = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 12);
const STREAM_KEY = `studio-${randomBytes(12).toString('hex')}`;

let rig: SwarmRig;
/** The manager the CLI and the checks ask: another one while its host is cut off (every rig node is a manager). */
let control: SwarmRigNode;
let image: string;
let work: string;
let stream: string;
let account: AccountManifest;
const pushes: LivePush[] = [];

/** The test app: examples/scaled's stack on the swarm, with `scaleUnits` origin replicas. */
function writeApp(scaleUnits: number): string {
  const file = path.join(work, `app-${scaleUnits}.ts`);
  fs.writeFileSync(file, [
    // The app lives outside the checkout: it names livestack's own cdktf, as one module instance.
    `import { App } from ${JSON.stringify(path.dirname(require.resolve('cdktf/package.json')))};`,
    `import { Encoding, EncodingPreset, Platform, RuntimeImage } from ${JSON.stringify(path.join(ROOT, 'constructs'))};`,
    `import { ScaledStack } from ${JSON.stringify(path.join(ROOT, 'examples', 'scaled', 'stack'))};`,
    'const app = new App();',
    // Sports gets a one-rung ladder: Default1080p reserves ~1.9 cores, and a rig host has 2, so a host that
    // runs it would have no room left for an ingest moved off a lost host. Nothing is pushed to sports.
    `new ScaledStack(app, 'scaled', { scaleUnits: ${scaleUnits}, studioStreamKeyVariable: '${KEY_VARIABLE}',`,
    '  sportsEncoding: Encoding.standard(EncodingPreset.custom({ ladder: [{ width: 640, height: 360, bitrateKbps: 800 }] })), account: {',
    `  platform: Platform.swarm({ publishMode: 'host', placement: { maxReplicasPerNode: 1 } }),`,
    `  storage: { shared: { hostPath: ${JSON.stringify(rig.sharedDir)} } },`,
    `  runtimeImage: RuntimeImage.fromName(${JSON.stringify(image)}),`,
    '} });',
    'app.synth();',
  ].join('\n'));
  return file;
}

const env = (): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_HOST: `unix://${control.socketPath}`, [`TF_VAR_${KEY_VARIABLE}`]: STREAM_KEY });
const cli = (args: string[], timeoutMs = 240_000) => livestack([...args, '--driver', 'swarm', '--state-dir', path.join(work, 'state')], { env: env(), timeoutMs });

interface ObservedJson { name: string; role: string; phase: string; addresses?: string[]; replicas?: number }
interface StatusJson { statuses: { workloads: { name: string; ingestHealth?: { channel: string; publisherConnected: boolean } }[] }[] }

/** `livestack status`: the ingest health it shows for the studio ingest (JSON and the table's line). */
async function studioHealth(): Promise<{ json?: { channel: string; publisherConnected: boolean }; line: string }> {
  const json = await cli(['status', '--json'], 60_000);
  expectExit(json, 0);
  const health = (JSON.parse(json.stdout) as StatusJson).statuses.flatMap((a) => a.workloads).find((w) => w.name === 'ls-broadcast-ingest-studio')?.ingestHealth;
  const table = await cli(['status'], 60_000);
  expectExit(table, 0);
  return { json: health, line: table.stdout.split('\n').find((l) => l.startsWith('ls-broadcast-ingest-studio')) ?? '' };
}
async function observed(): Promise<ObservedJson[]> {
  const status = await cli(['status', '--json'], 60_000);
  expectExit(status, 0);
  return (JSON.parse(status.stdout) as { observed: ObservedJson[] }).observed;
}
const studioIngest = async () => (await observed()).find((w) => w.name === 'ls-broadcast-ingest-studio');

/**
 * As an encoder does: when its push has ended (the ingest it pushed to was moved or restarted), push
 * again, to where the studio ingest runs now. Says so, with what ffmpeg printed when it ended.
 */
async function keepStudioPushed(why: string): Promise<void> {
  if (pushes.some((p) => p.running())) return;
  const ended = pushes.map((p) => p.stderr().trim()).filter(Boolean).join('; ');
  for (const push of pushes.splice(0)) await push.stop();
  const address = (await studioIngest())?.addresses?.[0];
  if (!address) return;
  process.stdout.write(`${why}: the push had ended (${ended || 'no error printed'}); pushing again to ${address}\n${await studioTaskHistory()}`);
  pushes.push(startLivePush(stream, `rtmp://${address}:3936/live/${STREAM_KEY}`));
}

/** The studio ingest's tasks, oldest first: where each ran, what became of it and why (why an ingest moved). */
async function studioTaskHistory(): Promise<string> {
  type Task = { NodeID?: string; DesiredState?: string; CreatedAt?: string; Status?: { Timestamp?: string; State?: string; Message?: string; Err?: string } };
  const [tasks, nodes] = await Promise.all([
    control.docker.listTasks({ filters: { service: ['ls-broadcast-ingest-studio'] } }) as Promise<Task[]>,
    control.docker.listNodes(),
  ]).catch(() => [[], []] as [Task[], { ID?: string; Status?: { Addr?: string } }[]]);
  const addressOf = (id?: string) => nodes.find((n) => n.ID === id)?.Status?.Addr ?? id ?? '?';
  return [...tasks].sort((a, b) => (a.CreatedAt ?? '').localeCompare(b.CreatedAt ?? '')).map((t) => `  studio ingest task on ${addressOf(t.NodeID)}: created ${t.CreatedAt}, ${t.Status?.State} at ${t.Status?.Timestamp} `
    + `(desired ${t.DesiredState}; ${t.Status?.Message ?? ''}${t.Status?.Err ? `; ${t.Status.Err}` : ''})\n`).join('');
}

async function get(url: string, timeoutMs = 3_000): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

function locatorUrl(address: string, program: string): string {
  const locator = account.locators.find((l) => l.channel === 'studio' && l.program === program)!;
  const manifestName = account.channels.find((c) => c.name === 'studio')!.programs.find((p) => p.name === program)!.manifestName;
  return `http://${address}:8280/${servedLocatorId(rig.sharedDir, account, locator)}/${manifestName}.m3u8`;
}

/** An HLS media playlist: media sequence, segment URIs, discontinuities. */
interface MediaPlaylist {
  readonly sequence: number;
  readonly uris: string[];
  readonly discontinuities: number;
  /** Whether a segment after `last` follows a discontinuity that also comes after `last`: new media after a break. */
  resumedAfter(last: number): boolean;
}

function segmentsOf(playlist: string): MediaPlaylist {
  const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1] ?? 0);
  const segments: { sequence: number; afterBreak: boolean }[] = [];
  let discontinuities = 0;
  let pendingBreak = false;
  for (const line of playlist.split('\n')) {
    if (line.startsWith('#EXT-X-DISCONTINUITY') && !line.startsWith('#EXT-X-DISCONTINUITY-SEQUENCE')) {
      discontinuities += 1;
      pendingBreak = true;
    } else if (line && !line.startsWith('#')) {
      segments.push({ sequence: sequence + segments.length, afterBreak: pendingBreak });
      pendingBreak = false;
    }
  }
  return {
    sequence,
    uris: playlist.split('\n').filter((l) => l && !l.startsWith('#')),
    discontinuities,
    resumedAfter: (last) => segments.some((s) => s.sequence > last && s.afterBreak),
  };
}

async function mediaPlaylists(master: string): Promise<string[]> {
  const { body } = await get(master);
  const base = master.slice(0, master.lastIndexOf('/') + 1);
  const text = body.toString();
  const uris = text.split('\n').filter((l) => l && !l.startsWith('#'));
  const audio = [...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]);
  return [...uris, ...audio].map((u) => (u.startsWith('http') ? u : base + u));
}

// docker_service as cdk.tf.json holds it (the fields livestack sets).
interface TerraformService {
  name: string;
  labels: { label: string; value: string }[];
  mode: { replicated: { replicas: number } };
  task_spec: {
    container_spec: {
      image: string; command: string[]; env: Record<string, string>; labels: { label: string; value: string }[];
      mounts: { type: string; source: string; target: string; read_only: boolean }[];
      healthcheck: { test: string[]; interval: string; timeout: string; retries: number; start_period: string };
      secrets: { secret_id: string; secret_name: string; file_name: string; file_uid: string; file_gid: string; file_mode: number }[];
      stop_grace_period: string;
    };
    restart_policy: { condition: string; delay: string; max_attempts: number };
    placement: { constraints: string[]; prefs: string[]; max_replicas?: number };
    resources: { reservation: { nano_cpus?: number; memory_bytes?: number }; limits: { nano_cpus?: number; memory_bytes?: number } };
    log_driver: { name: string; options: Record<string, string> };
  };
  update_config: { parallelism: number; order: string; failure_action: string; monitor: string };
  endpoint_spec: { mode: string; ports: { target_port: number; published_port: number; protocol: string; publish_mode: string }[] };
}

const seconds = (text: string) => Number(text.replace(/s$/, '')) * 1e9;

/** What the Docker provider sends the engine for a docker_service, Terraform's interpolations resolved as at apply time. */
function terraformAsEngine(s: TerraformService, secrets: Record<string, { name: string }>): Record<string, unknown> {
  const resolve = (text: string) => text.replace(/\$\{substr\(sha256\(var\.(\w+)\), 0, 12\)\}/g, (_m, v: string) => (v === KEY_VARIABLE ? createHashHex(STREAM_KEY) : 'unknown'));
  const c = s.task_spec.container_spec;
  const t = s.task_spec;
  return {
    Name: s.name,
    Labels: Object.fromEntries(s.labels.map((l) => [l.label, l.value])),
    Mode: { Replicated: { Replicas: s.mode.replicated.replicas } },
    TaskTemplate: {
      ContainerSpec: {
        Image: c.image, Command: c.command, Env: Object.entries(c.env).map(([k, v]) => `${k}=${v}`).sort(),
        Labels: Object.fromEntries(c.labels.map((l) => [l.label, l.value])),
        Mounts: c.mounts.map((m) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.read_only })),
        Healthcheck: { Test: c.healthcheck.test, Interval: seconds(c.healthcheck.interval), Timeout: seconds(c.healthcheck.timeout), Retries: c.healthcheck.retries, StartPeriod: seconds(c.healthcheck.start_period) },
        Secrets: (c.secrets ?? []).map((x) => {
          const ref = /^\$\{docker_secret\.(\w+)\.name\}$/.exec(x.secret_name)?.[1];
          return { SecretName: resolve(ref ? secrets[ref].name : x.secret_name), File: { Name: x.file_name, UID: x.file_uid, GID: x.file_gid, Mode: x.file_mode } };
        }),
        StopGracePeriod: seconds(c.stop_grace_period),
      },
      RestartPolicy: { Condition: t.restart_policy.condition, Delay: seconds(t.restart_policy.delay), MaxAttempts: t.restart_policy.max_attempts },
      Placement: { Constraints: t.placement.constraints, Preferences: t.placement.prefs.map((p) => ({ Spread: { SpreadDescriptor: p.replace(/^spread=/, '') } })), ...(t.placement.max_replicas ? { MaxReplicas: t.placement.max_replicas } : {}) },
      Resources: {
        Reservations: { NanoCPUs: t.resources.reservation.nano_cpus, MemoryBytes: t.resources.reservation.memory_bytes },
        Limits: { NanoCPUs: t.resources.limits.nano_cpus, MemoryBytes: t.resources.limits.memory_bytes },
      },
      LogDriver: { Name: t.log_driver.name, Options: t.log_driver.options },
    },
    UpdateConfig: { Parallelism: s.update_config.parallelism, Order: s.update_config.order, FailureAction: s.update_config.failure_action, Monitor: seconds(s.update_config.monitor) },
    EndpointSpec: { Mode: s.endpoint_spec.mode, Ports: s.endpoint_spec.ports.map((p) => ({ Protocol: p.protocol, TargetPort: p.target_port, PublishedPort: p.published_port, PublishMode: p.publish_mode })) },
  };
}

/**
 * The fields both paths set, in one shape. The engine drops empty lists and zero values and keeps its
 * own (ForceUpdate, the live hash the driver records after delivering a live config): those are left out.
 */
function engineView(spec: any): unknown { // eslint-disable-line @typescript-eslint/no-explicit-any
  const c = spec.TaskTemplate.ContainerSpec;
  const t = spec.TaskTemplate;
  const { [LIVE_HASH]: _live, ...labels } = spec.Labels ?? {};
  const definedOnly = (o: Record<string, unknown> | undefined) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined && v !== 0));
  return {
    name: spec.Name, labels, replicas: spec.Mode.Replicated.Replicas,
    image: c.Image, command: c.Command, env: [...c.Env].sort(), containerLabels: c.Labels ?? {},
    mounts: (c.Mounts ?? []).map((m: any) => ({ type: m.Type, source: m.Source, target: m.Target, readOnly: Boolean(m.ReadOnly) })), // eslint-disable-line @typescript-eslint/no-explicit-any
    healthcheck: c.Healthcheck,
    secrets: (c.Secrets ?? []).map((x: any) => ({ name: x.SecretName, file: x.File })), // eslint-disable-line @typescript-eslint/no-explicit-any
    stopGrace: c.StopGracePeriod,
    restart: t.RestartPolicy,
    constraints: t.Placement?.Constraints ?? [], preferences: t.Placement?.Preferences ?? [], maxReplicas: t.Placement?.MaxReplicas,
    reservations: definedOnly(t.Resources?.Reservations), limits: definedOnly(t.Resources?.Limits),
    log: t.LogDriver,
    update: { ...spec.UpdateConfig, MaxFailureRatio: undefined, Delay: undefined },
    endpoint: { mode: spec.EndpointSpec.Mode, ports: spec.EndpointSpec.Ports ?? [] },
  };
}

/** Rig settings the suite runs with (see scripts/rig/common.sh): a lost host is marked down within seconds. */
const RIG_SETTINGS = { heartbeat: '1s' } as const;
/**
 * Budget for the rig to come up once the runtime image exists: with an image the rig has not seen, ~1.2 GB
 * is saved and loaded into three daemons (93-116 s measured on the shared 2-core machine; ~26 s cached;
 * 161 s in a CI run beside the host lane's suites).
 */
const UP_BUDGET_S = 240;
/** Set once examples/scaled is applied, cleared once it is destroyed: what afterAll must still remove. */
let applied = false;
const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const suiteStarted = Date.now();
const partSeconds: string[] = [];

/**
 * Waits until the swarm has a leader and every node is Ready, for 3 s in a row. A host back from a link
 * cut may force an election after it rejoined (its raft term moved on while it was cut off): the control
 * plane answers "no leader" for 10-20 s then, which is not what the next test is about.
 */
async function swarmSettled(): Promise<void> {
  let since: number | undefined;
  await eventually('the swarm to have a leader and every node Ready for 3 s', async () => {
    const nodes = await control.docker.listNodes().catch(() => undefined);
    const settled = nodes?.length === rig.nodes.length && nodes.every((n) => n.Status?.State === 'ready') && nodes.some((n) => n.ManagerStatus?.Leader);
    if (!settled) since = undefined;
    else since ??= Date.now();
    return since !== undefined && Date.now() - since >= 3_000 ? true : undefined;
  }, 90_000, 500);
}

/** Prints how long a describe block took (its tests and hooks), and keeps it for the suite's summary. */
function timed(part: string): void {
  let started = 0;
  beforeAll(() => { started = Date.now(); });
  afterAll(() => {
    const line = `${part}: ${((Date.now() - started) / 1000).toFixed(1)} s`;
    partSeconds.push(line);
    process.stdout.write(`swarm suite part ${line}\n`);
  });
}

beforeAll(async () => {
  // Pin this checkout's runtime image under its own tag: the shared tag may be rebuilt meanwhile.
  const built = await prepareDocker();
  const id = (await new Docker().getImage(built).inspect()).Id.replace('sha256:', '').slice(0, 12);
  image = `livestack/runtime:swarm-${id}`;
  await new Docker().getImage(built).tag({ repo: 'livestack/runtime', tag: `swarm-${id}` });
  // A rig left by a crashed run must not change what this suite sees.
  await downSwarmRig({ keepImageCache: true });
  rig = await startSwarmRig({ images: [image], ...RIG_SETTINGS });
  process.stdout.write(`rig up in ${rig.upSeconds.toFixed(1)} s (load average ${loadAverage()}):\n${rig.upLog}`);
  control = rig.manager;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-swarm-'));
  stream = path.join(work, 'stream.flv');
  await encodeTestStream(stream, { width: 640, height: 360, fps: 30, videoKbps: 800, keyFrameIntervalSeconds: 2, seconds: 30 });
}, PREPARE_TIMEOUT_MS);

afterAll(async () => {
  for (const push of pushes) await push.stop();
  if (rig && applied) await cli(['destroy'], 180_000).catch(() => undefined);
  await downSwarmRig({ keepImageCache: true }).catch((error: Error) => process.stderr.write(`${error.message}\n`));
  if (work) fs.rmSync(work, { recursive: true, force: true });
  process.stdout.write(`swarm suite: ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s in all (${partSeconds.join('; ')})\n`);
}, 5 * 60_000);

describe('the multi-host rig', () => {
  timed('rig');

  test('comes up within its budget: three Ready managers in one swarm, each a host of its own on its own address, with the image', async () => {
    expect(rig.upSeconds).toBeLessThan(UP_BUDGET_S);
    expect(rig.nodes.map((n) => [n.name, n.address])).toEqual([['node1', '10.77.0.11'], ['node2', '10.77.0.12'], ['node3', '10.77.0.13']]);
    const listed = await rig.manager.docker.listNodes();
    expect(listed.map((n) => n.Description?.Hostname).sort()).toEqual(['node1', 'node2', 'node3']);
    expect(listed.every((n) => n.Status?.State === 'ready' && n.Spec?.Availability === 'active')).toBe(true);
    // Every host a manager: three keep a raft quorum with any one lost.
    expect(listed.map((n) => n.Spec?.Role)).toEqual(['manager', 'manager', 'manager']);
    const swarm = await rig.manager.docker.swarmInspect() as { Spec: { Dispatcher: { HeartbeatPeriod: number } } };
    expect(swarm.Spec.Dispatcher.HeartbeatPeriod).toBe(1e9);
    const imageId = execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', image], { encoding: 'utf8' }).trim();
    for (const node of rig.nodes) {
      const info = await node.docker.info() as { Name: string; Swarm: { NodeID: string; NodeAddr: string; LocalNodeState: string } };
      expect(info.Name).toBe(node.name);
      expect(info.Swarm.LocalNodeState).toBe('active');
      expect(info.Swarm.NodeAddr).toBe(node.address);
      expect(listed.find((n) => n.ID === info.Swarm.NodeID)?.Spec?.Labels?.['livestack.rig.node']).toBe(node.name);
      expect((await node.docker.getImage(image).inspect()).Id).toBe(imageId);
    }
  });

  test('a global service publishing a host-mode port answers HTTP on every node\'s address from the root namespace', async () => {
    // GIVEN one task per node, each answering with the name of the node it runs on
    const port = 18_000 + Math.floor(Math.random() * 1_000);
    const service = await rig.manager.docker.createService({
      Name: `rig-http-${randomBytes(3).toString('hex')}`,
      Mode: { Global: {} },
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Command: ['node', '-e', 'require("http").createServer((q, r) => r.end(process.env.RIG_NODE)).listen(8000)'],
          Env: ['RIG_NODE={{.Node.Hostname}}'],
        },
      },
      // No IPVS in this kernel: no routing mesh, no VIP. Host mode and DNS round robin work.
      EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 8000, PublishedPort: port, PublishMode: 'host' }] },
    });
    try {
      // THEN each node's own address answers, from the node's own task
      const bodies = await Promise.all(rig.nodes.map((node) => eventually(`http://${node.address}:${port}/ to answer`, async () => {
        const response = await get(`http://${node.address}:${port}/`, 2_000).catch(() => undefined);
        return response?.status === 200 ? response.body.toString() : undefined;
      }, 60_000, 250)));
      expect(bodies).toEqual(rig.nodes.map((n) => n.name));
    } finally {
      await rig.manager.docker.getService(service.id).remove();
    }
  });

  test('a file written on node 1 in the shared directory is read on node 3, and a hard link made there works', async () => {
    // GIVEN a workload user (uid 10001, as the runtime image's) writing a file on node 1
    const dir = path.join(rig.sharedDir, `rig-test-${randomBytes(4).toString('hex')}`);
    const token = randomBytes(8).toString('hex');
    expect(await runOnNode(rig, rig.nodes[0], image, `mkdir -p ${dir} && echo ${token} > ${dir}/segment.m4s && echo ok`, '10001')).toBe('ok');

    // WHEN node 3 reads it and links it, as a program records a segment
    const read = await runOnNode(rig, rig.nodes[2], image, `cat ${dir}/segment.m4s && ln ${dir}/segment.m4s ${dir}/recorded.m4s && stat -c '%h %i' ${dir}/segment.m4s ${dir}/recorded.m4s`, '10001');

    // THEN node 3 saw node 1's bytes, and both names are one file on one filesystem
    const [content, first, second] = read.split('\n');
    expect(content).toBe(token);
    expect(first).toBe(second);
    expect(first.split(' ')[0]).toBe('2');
    expect(fs.statSync(path.join(dir, 'recorded.m4s')).ino).toBe(fs.statSync(path.join(dir, 'segment.m4s')).ino);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('examples/scaled on a three-host swarm', () => {
  timed('examples/scaled');

  test('applies with origin replicas and channels spread over hosts; the second plan is empty; no secret in clear', async () => {
    const app = writeApp(2);
    account = (await synthesizeApp(app, path.join(work, 'synth'))).manifest.accounts[0];
    applied = true;
    const applyRun = await cli(['apply', '--app', app, '--wait', '180', '--timeout', '240'], 420_000);
    expectExit(applyRun, 0);

    const plan = await cli(['plan', '--app', app]);
    expectExit(plan, 0);

    const workloads = await observed();
    expect(workloads.map((w) => [w.name, w.phase])).toEqual([
      ['ls-broadcast-ingest-sports', 'running'], ['ls-broadcast-ingest-studio', 'running'], ['ls-broadcast-keys', 'running'], ['ls-broadcast-origin-main', 'running'],
    ]);
    const origin = workloads.find((w) => w.role === 'origin')!;
    expect(origin.replicas).toBe(2);
    expect(origin.addresses).toHaveLength(2);
    const hosts = new Set(workloads.flatMap((w) => w.addresses ?? []));
    process.stdout.write(`placement: ${workloads.map((w) => `${w.name} on ${w.addresses?.join(',')}`).join('; ')}\n`);
    expect(hosts.size).toBeGreaterThanOrEqual(2);

    // The stream key reached the ingest as a Docker secret: never in the service's spec or env.
    const service = await control.docker.getService('ls-broadcast-ingest-studio').inspect();
    expect(JSON.stringify(service)).not.toContain(STREAM_KEY);
    expect(service.Spec.TaskTemplate.ContainerSpec.Secrets).toHaveLength(1);
    expect(service.Spec.UpdateConfig.Order).toBe('stop-first');
    expect((await control.docker.getService('ls-broadcast-origin-main').inspect()).Spec.UpdateConfig.Order).toBe('start-first');
    expect(`${applyRun.stdout}${applyRun.stderr}${plan.stdout}`).not.toContain(STREAM_KEY);

    // status shows the ingest's health as on the other drivers, read next to the ingest by a swarm job
    const health = await studioHealth();
    expect(health.json).toMatchObject({ channel: 'studio', publisherConnected: false });
    expect(health.line).toContain('publisher none');
  });

  test('Terraform\'s docker_service resources of the same app are the services the driver created, field by field', async () => {
    const tf = JSON.parse(fs.readFileSync(path.join(work, 'synth', 'stacks', 'scaled', 'cdk.tf.json'), 'utf8')) as { resource: Record<string, Record<string, TerraformService>> };
    const services = Object.values(tf.resource.docker_service ?? {});
    const secrets = tf.resource.docker_secret ?? {};
    expect(services.map((s) => s.name).sort()).toEqual(['ls-broadcast-ingest-sports', 'ls-broadcast-ingest-studio', 'ls-broadcast-keys', 'ls-broadcast-origin-main']);
    expect(JSON.stringify(tf)).not.toContain(STREAM_KEY);
    for (const service of services) {
      const live = (await control.docker.getService(service.name).inspect()).Spec;
      expect(engineView(terraformAsEngine(service, secrets))).toEqual(engineView(live));
    }
  });

  test('a stream pushed to the ingest plays through the locator from a host that runs no ingest, every variant decoded', async () => {
    const ingest = (await studioIngest())!;
    const ingestHost = ingest.addresses![0];
    pushes.push(startLivePush(stream, `rtmp://${ingestHost}:3936/live/${STREAM_KEY}`));
    const workloads = await observed();
    const ingestHosts = new Set(workloads.filter((w) => w.role === 'ingest').flatMap((w) => w.addresses ?? []));
    const origins = workloads.find((w) => w.role === 'origin')!.addresses!;
    const viewerHost = origins.find((a) => !ingestHosts.has(a)) ?? origins.find((a) => a !== ingestHost)!;
    const master = locatorUrl(viewerHost, 'live');
    const playlists = await eventually(`${master} to list variants with segments`, async () => {
      const lists = await mediaPlaylists(master).catch(() => []);
      if (lists.length === 0) return undefined;
      const bodies = await Promise.all(lists.map((l) => get(l).catch(() => undefined)));
      return bodies.every((b) => b?.status === 200 && segmentsOf(b.body.toString()).uris.length >= 2) ? lists : undefined;
    }, 90_000, 1_000);
    for (const list of playlists) {
      const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', list, '-t', '4', '-f', 'null', '-'], { timeout: 60_000 });
      expect(stderr.trim()).toBe('');
    }
    process.stdout.write(`played ${playlists.length} variant(s) of ${master} (ingest on ${ingestHost}, viewer on ${viewerHost})\n`);
  });

  test('losing the ingest\'s host: the ingest comes back elsewhere, the encoder reconnects to the address status reports, playback resumes, the recording holds everything', async () => {
    const before = (await studioIngest())!;
    const lostAddress = before.addresses![0];
    const lost = rig.nodes.find((n) => n.address === lostAddress)!;
    const lostId = await rig.swarmNodeId(lost);
    const wasLeader = (await control.docker.getNode(lostId).inspect()).ManagerStatus?.Leader === true;
    const viewerHost = (await observed()).find((w) => w.role === 'origin')!.addresses!.find((a) => a !== lostAddress)!;
    const media = (await mediaPlaylists(locatorUrl(viewerHost, 'live')))[0];
    const first = segmentsOf((await get(media)).body.toString());
    const lastBefore = first.sequence + first.uris.length - 1;

    // WHEN its host loses power while the stream is pushed and played (whichever host it is: the other two
    // managers keep the swarm's quorum, and the CLI asks one of them)
    control = rig.managerOtherThan(lost);
    const cutAt = Date.now();
    await rig.cut(lost, 'power');
    for (const push of pushes.splice(0)) await push.stop();
    // Where the time goes, from the engine's side (a manager that stays up), while the test waits as a user would.
    const marks: Record<string, number> = {};
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        if (marks.nodeDown === undefined && (await control.docker.getNode(lostId).inspect().catch(() => undefined))?.Status?.State === 'down') marks.nodeDown = Date.now() - cutAt;
        if (marks.taskRunning === undefined && (await runningTaskNodes(control, 'ls-broadcast-ingest-studio')).some((n) => n && n !== lostId)) marks.taskRunning = Date.now() - cutAt;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();

    // THEN status reports the ingest on another host; the encoder reconnects there (and again, as an
    // encoder does, while the new ingest does not accept it yet)
    let moved = '';
    let resumed: ReturnType<typeof segmentsOf> | undefined;
    try {
      moved = await eventually('the ingest to run on another host', async () => {
        const now = await studioIngest().catch(() => undefined);
        return now?.phase === 'running' && now.addresses?.[0] && now.addresses[0] !== lostAddress ? now.addresses[0] : undefined;
      }, 120_000, 250);
      marks.statusReports = Date.now() - cutAt;
      resumed = await eventually('playback to resume after a discontinuity', async () => {
        if (!pushes.some((p) => p.running())) {
          for (const push of pushes.splice(0)) await push.stop();
          pushes.push(startLivePush(stream, `rtmp://${moved}:3936/live/${STREAM_KEY}`));
          marks.pushed ??= Date.now() - cutAt;
        }
        const now = await get(media).then((r) => (r.status === 200 ? segmentsOf(r.body.toString()) : undefined), () => undefined);
        return now && now.resumedAfter(lastBefore) ? now : undefined;
      }, 120_000, 250);
    } finally {
      watching = false;
      await watcher;
    }
    const recoverySeconds = (Date.now() - cutAt) / 1000;
    const at = (mark: string) => (marks[mark] === undefined ? 'not seen' : `${(marks[mark] / 1000).toFixed(1)} s`);
    process.stdout.write(`host loss: ${lost.name}${wasLeader ? ' (the raft leader)' : ''} powered off; ingest on ${moved}; playback resumed ${recoverySeconds.toFixed(1)} s after the cut `
      + `(node down ${at('nodeDown')}, new task running ${at('taskRunning')}, status reports it ${at('statusReports')}, encoder pushing ${at('pushed')}; load average ${loadAverage()})\n`);

    // AND the recording kept what came before the cut, with a discontinuity after it
    expect(resumed!.sequence).toBeLessThanOrEqual(first.sequence);
    expect(resumed!.discontinuities).toBeGreaterThanOrEqual(1);
    await rig.restore(lost);
    await swarmSettled();
  });

  test('losing a host that runs one origin replica: players through the other hosts see no failed request for more than one target duration', async () => {
    const workloads = await observed();
    const hostsOf = (...roles: string[]) => new Set(workloads.filter((w) => roles.includes(w.role)).flatMap((w) => w.addresses ?? []));
    const busy = hostsOf('ingest', 'keys');
    const studio = new Set(workloads.find((w) => w.name === 'ls-broadcast-ingest-studio')?.addresses ?? []);
    const origins = workloads.find((w) => w.role === 'origin')!.addresses!;
    // An origin's host, best one that runs nothing else; never the studio ingest's, whose push the next tests still need.
    const lostAddress = origins.find((a) => !busy.has(a)) ?? origins.find((a) => !studio.has(a))!;
    const lost = rig.nodes.find((n) => n.address === lostAddress)!;
    control = rig.managerOtherThan(lost);
    const viewers = origins.filter((a) => a !== lostAddress);
    expect(viewers.length).toBeGreaterThanOrEqual(1);
    const media = await Promise.all(viewers.map(async (v) => (await mediaPlaylists(locatorUrl(v, 'live')))[0]));
    const targetSeconds = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec((await get(media[0])).body.toString())?.[1]);

    // WHEN the host is cut off while players fetch the playlist and the newest segment every 250 ms
    let longestFailureMs = 0;
    let failingSince: number | undefined;
    let requests = 0;
    // Three target durations: the host is marked down within ~3 s (heartbeat 1 s), so a player that depended
    // on it would have failed for longer than one target duration by then.
    const deadline = Date.now() + 12_000;
    const cut = rig.cut(lost, 'link');
    while (Date.now() < deadline) {
      for (const url of media) {
        const ok = await get(url, 2_000).then(async (r) => {
          if (r.status !== 200) return false;
          const { uris } = segmentsOf(r.body.toString());
          const segment = new URL(uris[uris.length - 1], url).toString();
          return (await get(segment, 2_000)).status === 200;
        }, () => false);
        requests += 1;
        const now = Date.now();
        if (ok && failingSince !== undefined) { longestFailureMs = Math.max(longestFailureMs, now - failingSince); failingSince = undefined; }
        if (!ok && failingSince === undefined) failingSince = now;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (failingSince !== undefined) longestFailureMs = Math.max(longestFailureMs, Date.now() - failingSince);
    await cut;
    process.stdout.write(`origin host loss: ${lost.name} cut off; ${requests} player rounds through ${viewers.join(', ')}; longest failing stretch ${longestFailureMs} ms (target duration ${targetSeconds} s)\n`);

    // THEN no player saw failures for longer than one target duration
    expect(longestFailureMs).toBeLessThanOrEqual(targetSeconds * 1000);
    await rig.restore(lost);
    await swarmSettled();
  });

  test('drift: a service removed and an origin scaled outside livestack are repaired by the next apply', async () => {
    const app = writeApp(2);
    // The encoder still pushes to the studio ingest (again, if its push ended since: an encoder retries).
    await keepStudioPushed('drift');
    await control.docker.getService('ls-broadcast-keys').remove();
    const origin = control.docker.getService('ls-broadcast-origin-main');
    const info = await origin.inspect();
    await origin.update({ ...info.Spec, Mode: { Replicated: { Replicas: 1 } }, version: info.Version.Index });

    const plan = await cli(['plan', '--app', app]);
    expectExit(plan, 2);
    expect(plan.stdout).toMatch(/create\s+ls-broadcast-keys\s+keys\s+missing/);
    expect(plan.stdout).toMatch(/replicas 1 -> 2 \(scaled outside livestack\)/);

    expectExit(await cli(['apply', '--app', app, '--wait', '120']), 0);
    expectExit(await cli(['plan', '--app', app]), 0);
    // The encoder pushes to the moved ingest: the health status says so. Status reports an ingest's
    // health as of the last reconcile pass (a job reads it at most every 10 s), so it may take a pass.
    // (The encoder keeps pushing meanwhile, again if the apply moved or restarted the ingest.)
    let last: Awaited<ReturnType<typeof studioHealth>> | undefined;
    const health = await eventually('status to show the studio publisher connected', async () => {
      await keepStudioPushed('drift, after the apply');
      last = await studioHealth();
      return last.json?.publisherConnected === true ? last : undefined;
    }, 90_000, 2_000).catch((error: Error) => {
      const push = pushes.map((p) => `${p.running() ? 'running' : 'ended'} (${p.stderr().trim().slice(-300) || 'nothing printed'})`).join('; ');
      throw new Error(`${error.message}; last status line: ${last?.line || '(none)'}; health ${JSON.stringify(last?.json)}; push: ${push || 'none'}`);
    });
    expect(health.json).toMatchObject({ channel: 'studio', publisherConnected: true });
    expect(health.line).toMatch(/publisher connected \(RTMP\)/);
  });

  test('scaling the endpoint from 2 to 4 units changes only the replica count (no ingest restarts)', async () => {
    const taskIds = async () => ((await control.docker.listTasks({ filters: { service: ['ls-broadcast-ingest-studio', 'ls-broadcast-ingest-sports'], 'desired-state': ['running'] } })) as { ID: string }[]).map((t) => t.ID).sort();
    const ingestsBefore = await taskIds();
    const app = writeApp(4);
    const plan = await cli(['plan', '--app', app]);
    expectExit(plan, 2);
    expect(plan.stdout).toMatch(/update\s+ls-broadcast-origin-main\s+origin\s+replicas 2 -> 4 \(in place, no restart\)/);
    expect(plan.stdout).toMatch(/Plan: 0 to create, 0 to replace, 1 to update in place, 0 to delete/);
    expect(plan.stdout).not.toMatch(/live-ingest-restarted/);
    expectExit(await cli(['apply', '--app', app, '--wait', '0']), 0);
    const spec = (await control.docker.getService('ls-broadcast-origin-main').inspect()).Spec;
    expect(spec.Mode.Replicated.Replicas).toBe(4);
    expect(await taskIds()).toEqual(ingestsBefore);
  });
});

describe('the rig after the workloads: destroyed, the leader lost and restored over a crashed run\'s pid files, teardown', () => {
  timed('rig recovery and teardown');

  test('destroy removes every service and Docker secret the stack had on the swarm', async () => {
    expectExit(await cli(['destroy'], 180_000), 0);
    applied = false;
    const managed = { filters: { label: ['livestack.managed-by=livestack'] } };
    expect(await control.docker.listServices(managed)).toEqual([]);
    expect(await control.docker.listSecrets(managed)).toEqual([]);
  });

  test('the leader powered off: the other managers elect another and keep answering; restored over stale pid files, it rejoins as the same node', async () => {
    // GIVEN the raft leader lost
    const leaderId = (await control.docker.listNodes()).find((n) => n.ManagerStatus?.Leader)!.ID!;
    const leader = (await rig.nodeOf(leaderId))!;
    const other = rig.managerOtherThan(leader);
    const cutAt = Date.now();
    await rig.cut(leader, 'power');
    // THEN the others elect a new leader, mark it down, and accept work
    await eventually(`${leader.name} to be marked down by the remaining managers`, async () => ((await other.docker.getNode(leaderId).inspect().catch(() => undefined))?.Status?.State === 'down' ? true : undefined), 60_000, 200);
    const downAfter = Date.now() - cutAt;
    const service = await eventually('a service to be created on the remaining managers', () => other.docker.createService({ Name: 'rig-quorum', Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { ContainerSpec: { Image: image, Command: ['sleep', 'infinity'] } } }).catch(() => undefined), 30_000, 250);
    await other.docker.getService(service.id).remove();
    process.stdout.write(`leader ${leader.name} powered off: marked down by the others ${(downAfter / 1000).toFixed(1)} s after the cut (raft's election timeout is 10-20 s, Docker's 10 ticks of 1 s randomised, not a setting of dockerd 20.10; dispatcher heartbeat ${RIG_SETTINGS.heartbeat})\n`);

    // WHEN it comes back while its pid files (the daemon's, containerd's) name an unrelated live process,
    // as when the system has handed the dead processes' pids out again
    const pidFile = path.join(RIG_NAMES.runDir, `n${leader.index}.pid`);
    fs.writeFileSync(pidFile, String(process.pid));
    fs.writeFileSync(path.join(RIG_NAMES.runDir, `n${leader.index}`, 'containerd', 'containerd.pid'), String(process.pid));
    await rig.restore(leader);

    // THEN it is Ready as the same swarm node, and the unrelated process was left alone
    const listed = await other.docker.listNodes();
    expect(listed.filter((n) => n.Status?.State === 'ready').map((n) => n.Description?.Hostname).sort()).toEqual(['node1', 'node2', 'node3']);
    expect(await rig.swarmNodeId(leader)).toBe(leaderId);
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).not.toBe(process.pid);
    expect(() => process.kill(process.pid, 0)).not.toThrow();
  });

  test('teardown leaves no namespace, daemon, veth, bridge, iptables rule, mount or data root behind, even of a bigger crashed rig', async () => {
    // GIVEN the running rig, plus the namespace and pid file a crashed 9-node run left behind
    execFileSync('ip', ['netns', 'add', 'lsrig-n9']);
    fs.writeFileSync(path.join(RIG_NAMES.runDir, 'n9.pid'), String(process.pid));

    // WHEN it is torn down
    const started = Date.now();
    await rig.down({ keepImageCache: true });
    process.stdout.write(`rig down in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    // THEN nothing of it is left, and the process the stale pid file named still runs
    expect(rigLeftovers()).toEqual([]);
    expect(() => process.kill(process.pid, 0)).not.toThrow();
    // Only the image cache stays (kept on purpose: the next up only has to load it).
    expect(fs.existsSync(RIG_NAMES.root) ? fs.readdirSync(RIG_NAMES.root) : []).toEqual(expect.not.arrayContaining(['n1', 'n2', 'n3', 'shared']));
  });
});
