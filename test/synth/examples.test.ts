import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { manifest as manifestSchema } from '../../lib/model/manifest';
import { synthesizeApp } from '../../lib/app/run-app';
import { topology } from '../../lib/topology';

/** Every example is synthesized exactly as `cdktf synth` would: a child process with CDKTF_OUTDIR set. */

const EXAMPLES = fs.readdirSync(path.join(__dirname, '..', '..', 'examples')).sort();

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

  test('synthesizes one docker_container per workload', () => {
    const specs = topology(result.manifest);
    for (const stack of result.stacks) {
      const tf = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
      const containers = Object.values(tf.resource.docker_container as Record<string, { name: string }>).map((c) => c.name).sort();
      expect(containers).toEqual(specs.map((s) => s.name).sort());
    }
  });

  test('writes a manifest beside cdk.tf.json that validates against the schema', () => {
    for (const stack of result.stacks) {
      const written = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'livestack.manifest.json'), 'utf8'));
      expect(manifestSchema.safeParse(written).success).toBe(true);
    }
  });

  test('workload specs', () => {
    // specParts are the per-part hashes behind specHash: derived, and noise in a review.
    expect(topology(result.manifest).map(({ specParts: _parts, ...spec }) => spec)).toMatchSnapshot();
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
