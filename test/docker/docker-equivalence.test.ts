/**
 * The Terraform path and the runtime's docker driver render the same workload specs, so they must
 * create the same containers. For every example: the `docker_container` resources of its cdk.tf.json
 * against the containers the docker driver creates (read back with `docker inspect`), field by field.
 * Docker merges an image's env and labels into every container, Terraform's as well as ours, so the
 * Terraform side is compared with the image's merged in the same way.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import type { ContainerInspectInfo, ImageInspectInfo } from 'dockerode';
import { synthesizeApp, SynthesizedApp } from '../../lib/app/run-app';
import { topology } from '../../lib/topology';
import { WorkloadSpec } from '../../lib/contract/workload-spec';
import { DockerDriver } from '../../lib/runtime/drivers/docker';
import { PREPARE_TIMEOUT_MS, prepareDocker, removeAccounts } from './support/docker-env';

jest.setTimeout(180_000);

const ALL_EXAMPLES = fs.readdirSync(path.join(__dirname, '..', '..', 'examples')).sort();
/**
 * Apps whose accounts run on Kubernetes have no docker_container to compare (their equivalence test is
 * test/integration/synth/kubernetes-examples.test.ts); named here, so a new one is a decision, not a skip.
 */
const KUBERNETES_EXAMPLES = ['kubernetes'];
const EXAMPLES = ALL_EXAMPLES.filter((e) => !KUBERNETES_EXAMPLES.includes(e));

test('the examples left out here are exactly the ones that deploy to Kubernetes', async () => {
  for (const example of KUBERNETES_EXAMPLES) {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `livestack-equivalence-${example}-`));
    try {
      const app = await synthesizeApp(path.join('examples', example, 'main.ts'), outdir);
      expect(app.manifest.accounts.map((a) => a.platform?.kind)).toEqual(app.manifest.accounts.map(() => 'kubernetes'));
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }
});

// What the examples' sensitive variables carry at deploy time (Terraform: -var; the runtime: TF_VAR_*).
const TF_VARS: Record<string, string> = { jwt_secret: 'jwt-secret-for-the-equivalence-test-0123456789', stream_key: 'stream-key-equivalence-42' };

interface TerraformContainer {
  name: string;
  image: string;
  command: string[];
  env: string[];
  ports?: { internal: number; external: number; ip: string; protocol: string }[];
  volumes?: { container_path: string; read_only: boolean; volume_name: string }[];
  labels: { label: string; value: string }[];
  healthcheck: { test: string[]; interval: string; timeout: string; retries: number; start_period: string };
  networks_advanced: { name: string; aliases: string[] }[];
  restart: string;
  init: boolean;
  log_driver: string;
  log_opts: Record<string, string>;
}

interface TerraformJson {
  resource: {
    docker_container: Record<string, TerraformContainer>;
    docker_image: Record<string, { name: string }>;
    docker_volume: Record<string, { name: string }>;
    docker_network: Record<string, { name: string }>;
  };
}

/** One container as both sides are compared: every field the issue names, plus how it runs. */
interface ContainerView {
  name: string;
  image: string;
  command: string[];
  env: string[];
  ports: string[];
  mounts: string[];
  labels: Record<string, string>;
  healthcheck: { test: string[]; intervalNs: number; timeoutNs: number; retries: number; startPeriodNs: number };
  networks: Record<string, string[]>;
  restart: string;
  init: boolean;
  log: { type: string; config: Record<string, string> };
}

const NS = 1_000_000_000;

/** `${docker_volume.x.name}` -> the name of resource x; `${var.x}` -> the variable's deploy-time value. */
function resolver(tf: TerraformJson) {
  return (text: string): string => text.replace(/\$\{([a-z_]+)\.([A-Za-z0-9_]+)(?:\.([a-z_]+))?\}/g, (whole, kind: string, id: string) => {
    if (kind === 'var') {
      if (!(id in TF_VARS)) throw new Error(`the test has no value for Terraform variable ${id}`);
      return TF_VARS[id];
    }
    const resource = (tf.resource as unknown as Record<string, Record<string, { name: string }>>)[kind]?.[id];
    if (!resource) throw new Error(`unresolved reference ${whole}`);
    return resource.name;
  });
}

/** Docker's merge of image and container env: the container's value wins for a key both set. */
function mergeEnv(imageEnv: string[], containerEnv: string[]): string[] {
  const merged = new Map(imageEnv.map((e) => [e.slice(0, e.indexOf('=')), e]));
  for (const e of containerEnv) merged.set(e.slice(0, e.indexOf('=')), e);
  return [...merged.values()].sort();
}

function seconds(text: string): number {
  const match = /^(\d+)s$/.exec(text);
  if (!match) throw new Error(`unexpected duration ${text}`);
  return Number(match[1]) * NS;
}

function terraformView(container: TerraformContainer, tf: TerraformJson, image: ImageInspectInfo): ContainerView {
  const resolve = resolver(tf);
  return {
    name: container.name,
    image: resolve(container.image.replace(/\.image_id\}$/, '.name}')),
    command: container.command,
    env: mergeEnv(image.Config.Env ?? [], container.env.map(resolve)),
    ports: (container.ports ?? []).map((p) => `${p.ip}:${p.external}->${p.internal}/${p.protocol}`).sort(),
    mounts: (container.volumes ?? []).map((v) => `${resolve(v.volume_name)}:${v.container_path}:${v.read_only ? 'ro' : 'rw'}`).sort(),
    labels: { ...(image.Config.Labels ?? {}), ...Object.fromEntries(container.labels.map((l) => [l.label, l.value])) },
    healthcheck: {
      test: container.healthcheck.test,
      intervalNs: seconds(container.healthcheck.interval),
      timeoutNs: seconds(container.healthcheck.timeout),
      retries: container.healthcheck.retries,
      startPeriodNs: seconds(container.healthcheck.start_period),
    },
    networks: Object.fromEntries(container.networks_advanced.map((n) => [resolve(n.name), [...n.aliases].sort()])),
    restart: container.restart,
    init: container.init,
    log: { type: container.log_driver, config: container.log_opts },
  };
}

function dockerView(info: ContainerInspectInfo): ContainerView {
  const shortId = info.Id.slice(0, 12);
  const bindings = info.HostConfig.PortBindings as Record<string, { HostIp: string; HostPort: string }[]> | undefined;
  const health = info.Config.Healthcheck!;
  return {
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    command: info.Config.Cmd ?? [],
    env: [...(info.Config.Env ?? [])].sort(),
    ports: Object.entries(bindings ?? {}).flatMap(([key, list]) => {
      const [port, protocol] = key.split('/');
      return list.map((b) => `${b.HostIp}:${b.HostPort}->${port}/${protocol}`);
    }).sort(),
    mounts: info.Mounts.map((m) => `${m.Name}:${m.Destination}:${m.RW ? 'rw' : 'ro'}`).sort(),
    labels: info.Config.Labels ?? {},
    healthcheck: {
      test: health.Test ?? [],
      intervalNs: health.Interval ?? 0,
      timeoutNs: health.Timeout ?? 0,
      retries: health.Retries ?? 0,
      startPeriodNs: health.StartPeriod ?? 0,
    },
    // Docker adds the container's short id as an alias of its own.
    networks: Object.fromEntries(Object.entries(info.NetworkSettings.Networks).map(([name, n]) => [name, (n.Aliases ?? []).filter((a: string) => a !== shortId).sort()])),
    restart: info.HostConfig.RestartPolicy?.Name ?? '',
    init: info.HostConfig.Init === true,
    log: { type: info.HostConfig.LogConfig?.Type ?? '', config: (info.HostConfig.LogConfig?.Config ?? {}) as Record<string, string> },
  };
}

describe.each(EXAMPLES)('examples/%s: Terraform and the docker driver create the same containers', (example) => {
  const docker = new Docker();
  let outdir: string;
  let stateDir: string;
  let app: SynthesizedApp;
  let specs: WorkloadSpec[];
  let driver: DockerDriver;
  let runtimeImage: string;

  beforeAll(async () => {
    runtimeImage = await prepareDocker();
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), `livestack-equivalence-${example}-`));
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `livestack-equivalence-state-${example}-`));
    app = await synthesizeApp(path.join('examples', example, 'main.ts'), outdir);
    specs = topology(app.manifest);
    const secrets = Object.fromEntries(Object.entries(TF_VARS).map(([name, value]) => [`TF_VAR_${name}`, value]));
    driver = new DockerDriver({ stateDir, env: { ...process.env, ...secrets } });
    // Leftovers of an interrupted earlier run would make create replace them: start clean.
    await removeAccounts(docker, app.manifest.accounts.map((a) => a.name));
    for (const spec of specs) await driver.create(spec);
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    for (const spec of specs ?? []) await driver.delete(spec.name);
    await driver?.close();
    if (app) await removeAccounts(docker, app.manifest.accounts.map((a) => a.name));
    for (const dir of [outdir, stateDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every docker_container agrees with its container on name, image, command, env, ports, mounts, labels and how it runs', async () => {
    // GIVEN the example's one stack
    expect(app.stacks).toHaveLength(1);
    const tf = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', app.stacks[0], 'cdk.tf.json'), 'utf8')) as TerraformJson;
    const resources = Object.values(tf.resource.docker_container).sort((a, b) => a.name.localeCompare(b.name));
    expect(resources.map((r) => r.name)).toEqual(specs.map((s) => s.name));
    // AND the image both name is the one this machine built
    expect(new Set(Object.values(tf.resource.docker_image).map((i) => i.name))).toEqual(new Set([runtimeImage]));
    const image = await docker.getImage(runtimeImage).inspect();

    // THEN each container the driver created reads back as its Terraform resource
    for (const resource of resources) {
      const info = await docker.getContainer(resource.name).inspect();
      expect(dockerView(info)).toEqual(terraformView(resource, tf, image));
    }
    // AND the example whose channel takes SRT really publishes its port over UDP (beside RTMP's TCP)
    if (example === 'basic') {
      const ingest = resources.find((r) => r.name.includes('-ingest-'))!;
      expect(dockerView(await docker.getContainer(ingest.name).inspect()).ports).toEqual(['127.0.0.1:1935->1935/tcp', '127.0.0.1:1935->1935/udp']);
    }
  });

  test('secrets: Terraform holds ${var.NAME}, the container the value of TF_VAR_NAME, under the same variable names', async () => {
    const tf = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', app.stacks[0], 'cdk.tf.json'), 'utf8')) as TerraformJson;
    for (const spec of specs) {
      const resource = Object.values(tf.resource.docker_container).find((r) => r.name === spec.name)!;
      const env = (await docker.getContainer(spec.name).inspect()).Config.Env ?? [];
      for (const [envName, variable] of Object.entries(spec.secretEnv)) {
        expect(resource.env).toContain(`${envName}=\${var.${variable}}`);
        expect(env).toContain(`${envName}=${TF_VARS[variable]}`);
      }
    }
    // AND the example that has secrets really exercised them
    if (example === 'protected') expect(specs.flatMap((s) => Object.values(s.secretEnv)).sort()).toEqual(['jwt_secret', 'stream_key']);
  });
});
