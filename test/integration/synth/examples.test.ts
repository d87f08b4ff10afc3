import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { manifest as manifestSchema } from '../../../lib/model/manifest';
import { synthesizeApp } from '../../../lib/app/run-app';
import { topology } from '../../../lib/topology';
import { LABELS } from '../../../lib/contract/labels';
import { STORAGE_MOUNT } from '../../../lib/contract/workload-spec';
import { ENV } from '../../../lib/contract/workload-env';

/** Every example is synthesized exactly as `cdktf synth` would: a child process with CDKTF_OUTDIR set. */

const EXAMPLES = fs.readdirSync(path.join(__dirname, '..', '..', '..', 'examples')).sort();

// Values the secret variables would carry at deploy time; they must never reach the output.
const DEPLOY_TIME_SECRETS = { TF_VAR_jwt_secret: 'jwt-secret-4c1f0e8d9b7a6e5f4d3c2b1a0f9e8d7c', TF_VAR_stream_key: 'stream-key-9d8c7b6a5f4e3d2c' };

describe.each(EXAMPLES)('examples/%s', (example) => {
  let outdir: string;
  let result: Awaited<ReturnType<typeof synthesizeApp>>;

  beforeAll(async () => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), `livestack-example-${example}-`));
    Object.assign(process.env, DEPLOY_TIME_SECRETS);
    result = await synthesizeApp(path.join('examples', example, 'main.ts'), outdir);
  }, 60_000);

  afterAll(() => {
    for (const key of Object.keys(DEPLOY_TIME_SECRETS)) delete process.env[key];
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('synthesizes one docker_container per workload on Docker, one kubernetes_deployment_v1 per workload on Kubernetes', () => {
    const specs = topology(result.manifest);
    const onKubernetes = new Set(result.manifest.accounts.filter((a) => a.platform?.kind === 'kubernetes').map((a) => a.name));
    for (const stack of result.stacks) {
      const tf = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
      const names = (type: string) => Object.values((tf.resource[type] ?? {}) as Record<string, { name?: string; metadata?: { name: string } }>).map((r) => r.name ?? r.metadata!.name).sort();
      expect(names('docker_container')).toEqual(specs.filter((s) => !onKubernetes.has(s.account)).map((s) => s.name).sort());
      expect(names('kubernetes_deployment_v1')).toEqual(specs.filter((s) => onKubernetes.has(s.account)).map((s) => s.name).sort());
    }
  });

  test('writes a manifest beside cdk.tf.json that validates against the schema', () => {
    for (const stack of result.stacks) {
      const written = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'livestack.manifest.json'), 'utf8'));
      expect(manifestSchema.safeParse(written).success).toBe(true);
    }
  });

  test('every workload runs the runtime image on the account storage, labelled and health-checked', () => {
    for (const spec of topology(result.manifest)) {
      const account = result.manifest.accounts.find((a) => a.name === spec.account)!;
      expect(spec).toEqual(expect.objectContaining({
        image: account.image,
        command: ['livestack', 'dataplane', spec.role],
        mounts: [{ volume: account.storage.volume, target: STORAGE_MOUNT, readOnly: false }],
        network: account.network.name,
      }));
      expect(spec.labels).toEqual(expect.objectContaining({
        [LABELS.managedBy]: 'livestack', [LABELS.account]: account.name, [LABELS.role]: spec.role, [LABELS.specHash]: spec.specHash,
      }));
      expect(spec.healthCheck.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/healthz$/);
      for (const port of spec.ports) expect(port).toEqual(expect.objectContaining({ hostIp: account.bindAddress, containerPort: port.hostPort }));
    }
  });
  test('no deploy-time secret appears in any synthesized file', () => {
    for (const file of fs.readdirSync(outdir, { recursive: true }) as string[]) {
      const full = path.join(outdir, file);
      if (!fs.statSync(full).isFile()) continue;
      const text = fs.readFileSync(full, 'utf8');
      for (const secret of Object.values(DEPLOY_TIME_SECRETS)) expect(text).not.toContain(secret);
    }
  });
});

describe('examples/protected', () => {
  test('passes secrets to workloads only as Terraform variable interpolations', async () => {
    // GIVEN the protected example synthesized
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-protected-'));
    try {
      await synthesizeApp('examples/protected/main.ts', outdir);
      const tf = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'protected', 'cdk.tf.json'), 'utf8'));
      // THEN the secrets are sensitive variables, referenced from container env
      expect(tf.variable.jwt_secret.sensitive).toBe(true);
      expect(tf.variable.stream_key.sensitive).toBe(true);
      expect(tf.variable.jwt_secret.default).toBeUndefined();
      const env: string[] = Object.values(tf.resource.docker_container as Record<string, { env: string[] }>).flatMap((c) => c.env);
      expect(env).toContain('LIVESTACK_SECRET_PREMIUM_VIEWERS_JWT_KEY_0=${var.jwt_secret}');
      expect(env).toContain('LIVESTACK_SECRET_PREMIUM_MATCH_STREAM_KEY=${var.stream_key}');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** What each example is for, asserted on the workloads it renders (one targeted test per example, no whole-tree snapshot). */
describe('what each example renders', () => {
  const render = async (example: string) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `livestack-render-${example}-`));
    try {
      Object.assign(process.env, DEPLOY_TIME_SECRETS);
      return topology((await synthesizeApp(path.join('examples', example, 'main.ts'), outdir)).manifest);
    } finally {
      for (const key of Object.keys(DEPLOY_TIME_SECRETS)) delete process.env[key];
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  };
  const config = (spec: { env: Record<string, string> }) => JSON.parse(spec.env[ENV.config]);
  const published = (specs: { ports: { hostPort: number }[]; name: string }[]) =>
    Object.fromEntries(specs.filter((s) => s.ports.length > 0).map((s) => [s.name, s.ports.map((p) => p.hostPort)]));

  test('basic: a key service, one RTMP and SRT ingest with the 720p ladder and one origin, on the default ports', async () => {
    const specs = await render('basic');
    expect(published(specs)).toEqual({ 'ls-demo-keys': [8090], 'ls-demo-ingest-news': [1935, 1935], 'ls-demo-origin-main-0': [8080] });
    expect(specs.find((s) => s.role === 'ingest')!.ports.map((p) => p.protocol)).toEqual(['tcp', 'udp']);
    const ingest = specs.find((s) => s.role === 'ingest')!;
    expect(config(ingest).channel.encoding.ladder.map((r: { name: string }) => r.name)).toEqual(['720p', '540p', '360p']);
    expect(ingest.secretEnv).toEqual({});
    expect(ingest.urls).toEqual(['rtmp://127.0.0.1:1935/live', 'srt://127.0.0.1:1935?streamid=publish:news']);
    expect(specs.find((s) => s.role === 'origin')!.liveConfig).toEqual({
      locators: [expect.objectContaining({ protocols: ['hls', 'dash'], encryption: { type: 'none' } })],
      previews: [{ channel: 'news', allowList: ['127.0.0.1/32', '::1/128'] }],
    });
  });

  test('protected: secrets reach workloads as variables only, the locator is envelope-encrypted HLS under the token policy', async () => {
    const specs = await render('protected');
    const keys = specs.find((s) => s.role === 'keys')!;
    expect(keys.secretEnv).toEqual({ LIVESTACK_SECRET_PREMIUM_VIEWERS_JWT_KEY_0: 'jwt_secret' });
    expect(specs.find((s) => s.role === 'ingest')!.secretEnv).toEqual({ LIVESTACK_SECRET_PREMIUM_MATCH_STREAM_KEY: 'stream_key' });
    const [locator] = (specs.find((s) => s.role === 'origin')!.liveConfig as { locators: { name: string; id?: string; protocols: string[]; encryption: { type: string } }[] }).locators;
    expect(locator.protocols).toEqual(['hls']);
    expect(locator.encryption).toEqual({ type: 'envelope', keyPolicy: 'viewers' });
    // Neither the locator id nor its content key id is in any config: both derive from the account's key at run time.
    expect(locator.id).toBeUndefined();
    expect(config(keys).keys).toEqual([{ locator: locator.name, keyPolicy: 'viewers' }]);
    expect(config(keys).policies[0].restriction).toEqual(expect.objectContaining({ type: 'token', algorithms: ['HS256'], requiredClaims: { entitlement: 'premium' } }));
  });

  test('scaled: three origin replicas on internal ports behind one balancer on the endpoint port, a 1080p ladder and a passthrough channel', async () => {
    const specs = await render('scaled');
    const replicas = specs.filter((s) => s.role === 'origin');
    expect(replicas.map((s) => s.name)).toEqual(['ls-broadcast-origin-main-0', 'ls-broadcast-origin-main-1', 'ls-broadcast-origin-main-2']);
    for (const replica of replicas) expect(replica.ports).toEqual([]);
    const balancer = specs.find((s) => s.role === 'balancer')!;
    expect(balancer.ports.map((p) => p.hostPort)).toEqual([8280]);
    expect(config(balancer).upstreams).toEqual(replicas.map((r) => ({ host: r.name, port: r.internalPorts[0] })));
    const ladders = Object.fromEntries(specs.filter((s) => s.role === 'ingest').map((s) => [config(s).channel.name, config(s).channel.encoding]));
    expect(ladders.sports.ladder.map((r: { name: string }) => r.name)).toEqual(['1080p', '720p', '540p', '360p']);
    expect(ladders.studio).toEqual({ type: 'passthrough' });
  });
});
