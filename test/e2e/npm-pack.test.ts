/**
 * livestack used from one's own project, as the README tells a user to: `npm pack` of this checkout,
 * installed from the tarball into a new cdktf project in a temporary folder (with cdktf, constructs,
 * ts-node, typescript and cdktf-cli from the npm registry, from npm's cache where it has them), then
 * the CLI there: `--version`, `plan`, `synth`, `apply` and `destroy` on the local driver, and
 * cdktf-cli's own `cdktf synth` of the same app. (test/docker/docker-image builds the runtime image
 * from the same tarball.)
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../bench/support/manifest-fixtures';
import { PACKAGE_JSON, packLivestack, tarballFiles } from '../support/packed-livestack';
import { processesOf } from '../support/process-table';

jest.setTimeout(600_000);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runIn(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The app a user writes: the constructs imported from the package, ports from the environment. */
const MAIN_TS = `import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Duration, MediaAccount } from 'livestack';

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

class Streams extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const account = new MediaAccount(this, 'acme', { keyDelivery: { port: port('KEYS_PORT', 8090) } });
    const endpoint = account.addStreamingEndpoint('main', { port: port('ORIGIN_PORT', 8080) });
    const channel = account.addLiveChannel('news', { port: port('INGEST_PORT', 1935) });
    channel.addProgram('live', { archiveWindow: Duration.hours(1) }).publish(endpoint);
  }
}

const app = new App();
new Streams(app, 'streams');
app.synth();
`;

/** The tsconfig.json and cdktf.json the README gives. */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', module: 'commonjs', moduleResolution: 'node', lib: ['ES2022'], strict: true, esModuleInterop: true, skipLibCheck: true,
  },
  include: ['**/*.ts'],
  exclude: ['node_modules', 'cdktf.out'],
};
const CDKTF_JSON = { language: 'typescript', app: 'npx ts-node main.ts', terraformProviders: [], terraformModules: [], context: {} };

/** The SRT listener's C source and build script: the one source shipped, built on the user's machine (or by the image). */
const NATIVE_SOURCES = ['lib/dataplane/ingest/native/srt-listener.c', 'scripts/build-native.sh'];

describe('livestack packed and installed into a new cdktf project', () => {
  let scratch: string;
  let project: string;
  let tarball: string;
  let env: NodeJS.ProcessEnv;
  const livestack = (...args: string[]) => runIn(project, 'npx', ['--no-install', 'livestack', ...args], env);

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-pack-'));
    tarball = packLivestack(scratch);
    project = path.join(scratch, 'my-streams');
    fs.mkdirSync(project);
    const versions = { ...PACKAGE_JSON.dependencies, ...PACKAGE_JSON.devDependencies };
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({
      name: 'my-streams',
      version: '1.0.0',
      private: true,
      dependencies: { livestack: `file:${tarball}`, cdktf: versions.cdktf, constructs: versions.constructs },
      devDependencies: {
        'cdktf-cli': versions.cdktf, 'ts-node': versions['ts-node'], typescript: versions.typescript, '@types/node': versions['@types/node'],
      },
    }, null, 2));
    fs.writeFileSync(path.join(project, 'main.ts'), MAIN_TS);
    fs.writeFileSync(path.join(project, 'cdktf.json'), JSON.stringify(CDKTF_JSON, null, 2));
    const installed = await runIn(project, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {}, 480_000);
    if (installed.code !== 0) throw new Error(`npm install in the new project failed:\n${installed.stderr}`);
    const [keys, origin, ingest] = [await freePort(), await freePort(), await freePort()];
    env = { KEYS_PORT: String(keys), ORIGIN_PORT: String(origin), INGEST_PORT: String(ingest), CHECKPOINT_DISABLE: '1' };
  }, 600_000);

  afterAll(async () => {
    if (project) await livestack('destroy');
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('the tarball holds the compiled library with its types, the CLI and what the runtime image build needs; no sources or tests', () => {
    const files = tarballFiles(tarball);

    expect(files).toEqual(expect.arrayContaining([
      'package.json', 'README.md', 'bin/livestack',
      'dist/constructs/index.js', 'dist/constructs/index.d.ts', 'dist/lib/cli/main.js', 'dist/package.json',
      'images/Dockerfile', 'images/docker-entrypoint.sh', 'images/package-lock.packed.json',
      ...NATIVE_SOURCES,
    ]));
    expect(files.filter((f) => !NATIVE_SOURCES.includes(f) && /^(lib|constructs|test|examples|scripts|bench|build)\/|^dist\/examples\/|\.map$|tsbuildinfo/.test(f))).toEqual([]);
  });

  test('the SRT listener builds from the installed package, and livestack doctor finds it there', async () => {
    // GIVEN an installed package: the C source and its build script, no binary yet
    const installed = path.join(project, 'node_modules', 'livestack');
    const binary = path.join(installed, 'build', 'native', 'livestack-srt-listener');
    const before = await livestack('doctor');
    expect(before.stdout).toContain(`FAIL  SRT listener: ${binary} is missing`);
    expect(before.stdout).toContain(`fix: sudo apt-get install -y gcc libc6-dev pkg-config libsrt-gnutls-dev && bash ${path.join(installed, 'scripts', 'build-native.sh')}`);

    // WHEN the user runs the command doctor prints
    const built = await runIn(project, 'bash', [path.join(installed, 'scripts', 'build-native.sh')]);

    // THEN the binary is there and doctor is content with it
    expect(built).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await livestack('doctor')).stdout).toContain(`ok    SRT listener: ${binary}`);
  });

  test('livestack --version prints the package version', async () => {
    expect(await livestack('--version')).toEqual({ code: 0, stdout: `${PACKAGE_JSON.version}\n`, stderr: '' });
  });

  test('livestack plan runs the app without a tsconfig.json (livestack supplies the compiler options)', async () => {
    expect(fs.existsSync(path.join(project, 'tsconfig.json'))).toBe(false);

    const plan = await livestack('plan', '--app', 'main.ts');

    expect({ code: plan.code, stderr: plan.stderr }).toEqual({ code: 2, stderr: '' });
    expect(plan.stdout).toMatch(/\+ create\s+ls-acme-ingest-news\s+ingest/);
    expect(plan.stdout).toContain('Plan: 3 to create, 0 to replace, 0 to update in place, 0 to delete, 0 unchanged.');
  });

  test('fails with what to install when the project has no ts-node', async () => {
    const tsNode = path.join(project, 'node_modules', 'ts-node');
    const hidden = path.join(project, 'node_modules', '.ts-node-hidden');
    fs.renameSync(tsNode, hidden);
    try {
      const plan = await livestack('plan', '--app', 'main.ts');

      expect(plan.code).toBe(1);
      expect(plan.stderr).toContain(`main.ts is TypeScript, which livestack runs through ts-node, and ts-node is not installed in its project: run \`npm install --save-dev ts-node typescript\` in ${project}`);
    } finally {
      fs.renameSync(hidden, tsNode);
    }
  });

  test('livestack synth writes cdk.tf.json, whose runtime image builds from the installed package', async () => {
    const synth = await livestack('synth', '--app', 'main.ts');

    expect({ code: synth.code, stderr: synth.stderr }).toEqual({ code: 0, stderr: '' });
    expect(synth.stdout).toContain('3 workloads: ls-acme-ingest-news, ls-acme-keys, ls-acme-origin-main-0');
    const stackDir = path.join(project, 'cdktf.out', 'stacks', 'streams');
    const tf = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
    const containers = Object.values(tf.resource.docker_container) as { name: string }[];
    expect(containers.map((c) => c.name).sort()).toEqual(['ls-acme-ingest-news', 'ls-acme-keys', 'ls-acme-origin-main-0']);
    const [image] = Object.values(tf.resource.docker_image) as { build: { context: string; dockerfile: string } }[];
    const context = path.resolve(stackDir, image.build.context);
    expect(context).toBe(fs.realpathSync(path.join(project, 'node_modules', 'livestack')));
    expect(fs.existsSync(path.join(context, image.build.dockerfile))).toBe(true);
    expect(fs.existsSync(path.join(stackDir, 'livestack.manifest.json'))).toBe(true);
  });

  test('with the README\'s tsconfig.json the project type-checks against the package\'s types, and `cdktf synth` gives the same containers', async () => {
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    const out = path.join(scratch, 'cdktf-cli.out');
    try {
      const typecheck = await runIn(project, 'npx', ['--no-install', 'tsc', '--noEmit', '-p', '.']);
      expect(typecheck).toEqual({ code: 0, stdout: '', stderr: '' });

      const synth = await runIn(project, 'npx', ['--no-install', 'cdktf', 'synth', '--output', out], env, 300_000);

      // (its stderr may carry terraform's own warnings, e.g. about a missing ~/.terraformrc)
      expect({ code: synth.code, stdout: synth.stdout, stderr: synth.stderr }).toEqual({ code: 0, stdout: expect.stringContaining('Generated Terraform code for the stacks: streams'), stderr: expect.any(String) });
      const ours = JSON.parse(fs.readFileSync(path.join(project, 'cdktf.out', 'stacks', 'streams', 'cdk.tf.json'), 'utf8'));
      const theirs = JSON.parse(fs.readFileSync(path.join(out, 'stacks', 'streams', 'cdk.tf.json'), 'utf8'));
      expect(theirs.resource.docker_container).toEqual(ours.resource.docker_container);
    } finally {
      fs.rmSync(path.join(project, 'tsconfig.json'));
    }
  });

  test('livestack apply runs the workloads from the installed package; destroy stops them', async () => {
    const stateDir = path.join(project, '.livestack');

    const applied = await livestack('apply', '--app', 'main.ts');

    expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
    expect(applied.stdout).toContain('Ready: 3 workloads running.');
    const supervisors = processesOf(stateDir).filter((p) => p.kind === 'supervisor');
    expect(supervisors).toHaveLength(3);
    for (const s of supervisors) expect(s.command).toContain(path.join(project, 'node_modules', 'livestack', 'dist', 'lib', 'cli', 'main.js'));
    const health = await fetch(`http://127.0.0.1:${env.ORIGIN_PORT}/healthz`);
    expect(health.status).toBe(200);

    const destroyed = await livestack('destroy');

    expect(destroyed.code).toBe(0);
    expect(processesOf(stateDir)).toEqual([]);
  });
});
