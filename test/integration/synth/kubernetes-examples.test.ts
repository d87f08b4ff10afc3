/**
 * Every example whose accounts run on Kubernetes, synthesized as `cdktf synth` would and written as
 * YAML by `livestack synth --kubernetes-out`, as a user runs them. No cluster runs here, so this is the
 * proof of the Kubernetes output: every object of both outputs validates against the Kubernetes OpenAPI
 * schemas (offline, `kubernetes-models`), the two outputs describe the same objects, every workload's
 * container agrees with its workload spec, and no secret appears in clear.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { readSynthesizedApp, SynthesizedApp } from '../../../lib/app/run-app';
import { LABELS } from '../../../lib/contract/labels';
import { ENV } from '../../../lib/contract/workload-env';
import { WorkloadSpec } from '../../../lib/contract/workload-spec';
import { Deployment, LIVE_CONFIG_DIR, LIVE_CONFIG_KEY } from '../../../lib/render/kubernetes-objects';
import { YAML_HEADER } from '../../../lib/synth/kubernetes-yaml';
import { topology } from '../../../lib/topology';
import { livestack, ROOT } from '../../support/cli';
import { TerraformKubernetesObject, terraformKubernetesObjects } from '../../support/terraform-kubernetes';

jest.setTimeout(120_000);

const EXAMPLES = fs.readdirSync(path.join(ROOT, 'examples')).sort();
// What the sensitive variables carry at deploy time: they must never reach either output.
const SECRETS = { TF_VAR_jwt_secret: 'jwt-secret-k8s-7f3e9a1c5b2d4e6f8a0b1c2d3e4f5a6b', TF_VAR_stream_key: 'stream-key-k8s-4d2c9e7b1a' };

interface Synthesized {
  readonly app: SynthesizedApp;
  readonly outdir: string;
  readonly yamlDir: string;
  readonly stdout: string;
}

async function synthesize(example: string): Promise<Synthesized> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `livestack-k8s-${example}-`));
  const yamlDir = path.join(outdir, 'gitops');
  const result = await livestack(['synth', '--app', path.join('examples', example, 'main.ts'), '--out', outdir, '--kubernetes-out', yamlDir], {
    env: { ...process.env, ...SECRETS },
  });
  if (result.code !== 0) throw new Error(`livestack synth failed (${result.code}): ${result.stderr}`);
  return { app: readSynthesizedApp(outdir), outdir, yamlDir, stdout: result.stdout };
}

function validate(objects: readonly unknown[]): Promise<{ index: number; kind: string; name: string; error?: string }[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [path.join(ROOT, 'test', 'support', 'kubernetes-validate.mjs')], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`the validator failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout));
    });
    child.stdin!.end(JSON.stringify(objects));
  });
}

const onKubernetes = (app: SynthesizedApp) => app.manifest.accounts.some((a) => a.platform?.kind === 'kubernetes');

describe('which examples deploy to Kubernetes', () => {
  test('examples/kubernetes does, and runs every account on Kubernetes; the other examples stay on Docker', async () => {
    const kinds: Record<string, string[]> = {};
    for (const example of EXAMPLES) {
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `livestack-k8s-kinds-${example}-`));
      try {
        const result = await livestack(['synth', '--app', path.join('examples', example, 'main.ts'), '--out', outdir], { env: { ...process.env, ...SECRETS } });
        expect(result.code).toBe(0);
        kinds[example] = readSynthesizedApp(outdir).manifest.accounts.map((a) => a.platform?.kind ?? 'docker');
      } finally {
        fs.rmSync(outdir, { recursive: true, force: true });
      }
    }
    expect(kinds.kubernetes).toEqual(['kubernetes']);
    for (const [example, platforms] of Object.entries(kinds)) if (example !== 'kubernetes') expect(platforms).not.toContain('kubernetes');
  });

  test('fails with a clear message when asked for Kubernetes YAML of a Docker app', async () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-k8s-docker-'));
    try {
      const result = await livestack(['synth', '--app', 'examples/basic/main.ts', '--out', outdir, '--kubernetes-out', path.join(outdir, 'yaml')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/examples\/basic\/main\.ts: no account of this app runs on Kubernetes: give one `platform: Platform\.kubernetes/);
      expect(fs.existsSync(path.join(outdir, 'yaml'))).toBe(false);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('examples/kubernetes: cdk.tf.json and the YAML', () => {
  let synthesized: Synthesized;
  let specs: WorkloadSpec[];
  let yamlObjects: TerraformKubernetesObject[];
  let tfObjects: TerraformKubernetesObject[];
  let tfText: string;

  beforeAll(async () => {
    synthesized = await synthesize('kubernetes');
    expect(onKubernetes(synthesized.app)).toBe(true);
    specs = topology(synthesized.app.manifest);
    const files = fs.readdirSync(synthesized.yamlDir).sort();
    yamlObjects = files.map((f) => parse(fs.readFileSync(path.join(synthesized.yamlDir, f), 'utf8')) as TerraformKubernetesObject);
    tfText = fs.readFileSync(path.join(synthesized.outdir, 'stacks', 'kubernetes', 'cdk.tf.json'), 'utf8');
    tfObjects = terraformKubernetesObjects(JSON.parse(tfText));
  });

  afterAll(() => {
    if (synthesized) fs.rmSync(synthesized.outdir, { recursive: true, force: true });
  });

  test('every object of both outputs validates against the Kubernetes OpenAPI schemas', async () => {
    const results = await validate([...yamlObjects, ...tfObjects]);
    expect(results).toHaveLength(yamlObjects.length + tfObjects.length);
    expect(results.filter((r) => r.error)).toEqual([]);
    // AND the schemas really judge: the same objects with one wrong type each are refused
    const broken = yamlObjects.filter((o) => o.kind === 'Deployment').map((o) => {
      const copy = JSON.parse(JSON.stringify(o));
      copy.spec.template.spec.containers[0].ports = [{ containerPort: 'rtmp' }];
      return copy;
    });
    expect((await validate(broken)).every((r) => /containerPort must be integer/.test(r.error ?? ''))).toBe(true);
  });

  test('the YAML and the cdktf resources describe the same objects; only cdktf holds the Secret, fed by the variables', () => {
    const key = (o: TerraformKubernetesObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const byKey = (list: TerraformKubernetesObject[]) => Object.fromEntries(list.map((o) => [key(o), o]));
    const [secrets, others] = [tfObjects.filter((o) => o.kind === 'Secret'), tfObjects.filter((o) => o.kind !== 'Secret')];
    expect(Object.keys(byKey(others)).sort()).toEqual(Object.keys(byKey(yamlObjects)).sort());
    expect(byKey(others)).toEqual(byKey(yamlObjects));
    expect(secrets.map((s) => ({ name: s.metadata.name, stringData: s.stringData }))).toEqual([
      { name: 'ls-studio-secrets', stringData: { jwt_secret: '${var.jwt_secret}', stream_key: '${var.stream_key}' } },
    ]);
    // AND synth says which Secret a GitOps repository must get from outside, without a value
    expect(synthesized.stdout).toContain('create the Secret live/ls-studio-secrets outside the repository (keys: jwt_secret, stream_key)');
  });

  test('for every workload spec, its container agrees on image, command, env (secrets as references), ports, mounts and labels', () => {
    const deployments = yamlObjects.filter((o) => o.kind === 'Deployment') as unknown as Deployment[];
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(specs.map((s) => s.name).sort());
    for (const spec of specs) {
      const deployment = deployments.find((d) => d.metadata.name === spec.name)!;
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      const configMap = yamlObjects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${spec.name}-live`) as { data: Record<string, string> } | undefined;
      expect(container.image).toBe(spec.image);
      expect(container.args).toEqual(spec.command);
      // env: the plain env, except that the live config is a mounted file with the same content
      const plain = Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
      const { [ENV.liveConfig]: liveConfig, ...rest } = spec.env;
      expect(plain).toEqual({ ...rest, ...(liveConfig !== undefined ? { [ENV.liveConfigFile]: `${LIVE_CONFIG_DIR}/${LIVE_CONFIG_KEY}` } : {}) });
      if (liveConfig !== undefined) expect(JSON.parse(configMap!.data[LIVE_CONFIG_KEY])).toEqual(JSON.parse(liveConfig));
      const references = Object.fromEntries(container.env.filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom!.secretKeyRef]));
      expect(references).toEqual(Object.fromEntries(Object.entries(spec.secretEnv).map(([name, variable]) => [name, { name: 'ls-studio-secrets', key: variable }])));
      expect(container.ports.map((p) => [p.containerPort, p.protocol])).toEqual(spec.ports.map((p) => [p.containerPort, p.protocol.toUpperCase()]));
      const storage = container.volumeMounts.filter((m) => m.name === 'storage').map((m) => [m.mountPath, m.readOnly]);
      expect(storage).toEqual(spec.mounts.map((m) => [m.target, m.readOnly]));
      expect(pod.volumes).toContainEqual({ name: 'storage', persistentVolumeClaim: { claimName: spec.kubernetes!.claimName } });
      // labels: every spec label on the Deployment (the owner, a path, as an annotation), the live hash off the pods
      const { [LABELS.owner]: owner, ...labels } = spec.labels;
      expect(deployment.metadata.labels).toEqual(expect.objectContaining(labels));
      expect(deployment.metadata.annotations).toEqual({ [LABELS.owner]: owner });
      expect(deployment.spec.template.metadata.labels).not.toHaveProperty(LABELS.liveHash);
      expect(deployment.spec.template.metadata.labels).toEqual(expect.objectContaining({ [LABELS.specHash]: spec.specHash }));
    }
  });

  test('no secret in clear in cdk.tf.json, the YAML or what synth printed', () => {
    const texts = [tfText, synthesized.stdout, ...fs.readdirSync(synthesized.yamlDir).map((f) => fs.readFileSync(path.join(synthesized.yamlDir, f), 'utf8'))];
    for (const text of texts) for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  });

  test('the YAML is one file per object, in apply order, byte-identical on a second synth, and stale files go', async () => {
    const first = Object.fromEntries(fs.readdirSync(synthesized.yamlDir).map((f) => [f, fs.readFileSync(path.join(synthesized.yamlDir, f), 'utf8')]));
    expect(Object.keys(first)).toHaveLength(yamlObjects.length);
    expect(Object.keys(first).sort()[0]).toBe('0-namespace-live.yaml');
    for (const text of Object.values(first)) expect(text.startsWith(`${YAML_HEADER}\n`)).toBe(true);
    // GIVEN a file of an object the app no longer declares, and a file livestack did not write
    fs.writeFileSync(path.join(synthesized.yamlDir, '3-deployment-ls-studio-ingest-gone.yaml'), `${YAML_HEADER}\nkind: Deployment\n`);
    fs.writeFileSync(path.join(synthesized.yamlDir, 'kustomization.yaml'), 'resources: []\n');
    // WHEN synthesized again into the same folder
    const again = await livestack(['synth', '--app', 'examples/kubernetes/main.ts', '--out', path.join(synthesized.outdir, 'again'), '--kubernetes-out', synthesized.yamlDir]);
    expect(again.code).toBe(0);
    // THEN the same bytes, the stale object gone, the user's file kept
    const second = Object.fromEntries(fs.readdirSync(synthesized.yamlDir).map((f) => [f, fs.readFileSync(path.join(synthesized.yamlDir, f), 'utf8')]));
    expect(second).toEqual({ ...first, 'kustomization.yaml': 'resources: []\n' });
  });
});
