/**
 * The runtime commands as a user runs them (bin/livestack), on the local driver with the real data plane:
 * plan (exit codes 0/2/1, table, JSON, Markdown, saved plans), apply, status, logs, destroy, doctor,
 * and bad input that must leave running workloads alone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest } from '../../../lib/model/manifest';
import { LocalDriver } from '../../../lib/runtime/drivers/local';
import { expectExit, livestack, ROOT } from '../../support/cli';
import { testManifest } from '../../../bench/support/manifest-fixtures';

jest.setTimeout(180_000);

/** The running workloads, as the driver sees them: name, hashes, phase and the pid serving it. */
async function world(stateDir: string): Promise<string[]> {
  const driver = new LocalDriver({ stateDir });
  return (await driver.observe()).map((w) => `${w.name} ${w.specHash} ${w.liveHash} ${w.phase} ${driver.processes(w.name).workload}`);
}

describe('livestack runtime commands (local driver)', () => {
  let dir: string;
  let stateDir: string;
  let manifest: Manifest;
  let manifestFile: string;
  const run = (...args: string[]) => livestack([...args, '--state-dir', stateDir]);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-cli-'));
    stateDir = path.join(dir, 'state');
    // Key service and origin (the channel is declared stopped: no ingest, so no encoder is needed).
    manifest = await testManifest({ channelState: 'stopped' });
    manifestFile = path.join(dir, 'livestack.manifest.json');
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  });

  afterAll(async () => {
    await livestack(['destroy', '--state-dir', stateDir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every command explains itself with --help', async () => {
    for (const command of ['synth', 'plan', 'apply', 'up', 'status', 'logs', 'destroy', 'doctor', 'token']) {
      const result = await livestack([command, '--help']);
      expectExit(result, 0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: livestack ${command} `));
    }
  });

  test('--version prints the package version', async () => {
    const result = await livestack(['--version']);

    expectExit(result, 0);
    expect(result.stdout).toBe(`${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`);
  });

  test('plan on an empty machine lists what apply would create and exits 2', async () => {
    const result = await run('plan', '--manifest', manifestFile);

    expectExit(result, 2);
    expect(result.stdout).toMatch(/\+ create\s+ls-\w+-keys\s+keys\s+new workload/);
    expect(result.stdout).toMatch(/\+ create\s+ls-\w+-origin-web-0\s+origin\s+new workload/);
    expect(result.stdout).toMatch(/Plan: 2 to create, 0 to replace, 0 to update in place, 0 to delete, 0 unchanged\./);
  });

  test('plan --json and --markdown give the same plan for tools and pull requests', async () => {
    const json = await run('plan', '--manifest', manifestFile, '--json');
    const markdown = await run('plan', '--manifest', manifestFile, '--markdown');

    expectExit(json, 2);
    expect(JSON.parse(json.stdout)).toMatchObject({ hasChanges: true, counts: { create: 2 } });
    expectExit(markdown, 2);
    expect(markdown.stdout).toContain('### livestack plan');
    expect(markdown.stdout).toMatch(/\| create \| `ls-\w+-keys` \| keys \| new workload \| - \|/);
  });

  test('apply creates and waits until ready; a second plan exits 0 with no actions', async () => {
    // WHEN applied
    const apply = await run('apply', '--manifest', manifestFile);

    // THEN each workload is created, with progress lines, and ready
    expectExit(apply, 0);
    expect(apply.stdout).toMatch(/Created keys ls-\w+-keys in \d+\.\d s/);
    expect(apply.stdout).toContain('Apply complete: 2 created, 0 replaced, 0 updated in place, 0 deleted, 0 unchanged.');
    expect(apply.stdout).toContain('Ready: 2 workloads running.');
    // AND planning again finds nothing to do
    const again = await run('plan', '--manifest', manifestFile);
    expectExit(again, 0);
    expect(again.stdout.trim()).toBe('No changes. 2 workloads up to date.');
  });

  test('status shows each workload ready, and --json the persisted documents', async () => {
    const status = await run('status');
    const json = await run('status', '--json');

    expectExit(status, 0);
    expect(status.stdout).toMatch(/^WORKLOAD\s+ROLE\s+PHASE\s+READY/m);
    expect(status.stdout).toMatch(/ls-\w+-origin-web-0\s+origin\s+running\s+True Running/);
    expect(status.stdout).toMatch(/Locators:\n\s+\w+\/watch: live/);
    // (the channel is declared stopped, so its program is too)
    expect(status.stdout).toMatch(/Programs:\n\s+\w+\/news\/live \(asset news-live\): stopped/);
    expectExit(json, 0);
    const parsed = JSON.parse(json.stdout) as { statuses: { workloads: { name: string; conditions: { type: string; status: string }[] }[] }[] };
    const workloads = parsed.statuses.flatMap((s) => s.workloads);
    expect(workloads).toHaveLength(2);
    for (const w of workloads) expect(w.conditions.find((c) => c.type === 'Ready')!.status).toBe('True');
  });

  test('logs prints what a workload wrote; an unknown name is an error listing the known ones', async () => {
    const origin = manifest.accounts[0].name;
    const logs = await run('logs', `ls-${origin}-origin-web-0`);
    const unknown = await run('logs', 'ls-nope');

    expectExit(logs, 0);
    expect(logs.stdout).toMatch(/origin of endpoint web \(replica 0\) listening on http:\/\/127\.0\.0\.1:\d+/);
    expectExit(unknown, 1);
    expect(unknown.stderr).toMatch(/no local workload named ls-nope .*known: ls-\w+-keys, ls-\w+-origin-web-0/);
  });

  test('fails a malformed manifest with exit 1 and a clear message, touching nothing that runs', async () => {
    // GIVEN the running workloads, and manifests that are not JSON, miss a field, or break a check
    const before = await world(stateDir);
    const notJson = path.join(dir, 'not-json.json');
    fs.writeFileSync(notJson, '{"apiVersion": "livestack/v1", "accounts": [');
    const badPort = path.join(dir, 'bad-port.json');
    const broken = JSON.parse(JSON.stringify(manifest)) as { accounts: { endpoints: { port: unknown }[] }[] };
    broken.accounts[0].endpoints[0].port = 'eighty';
    fs.writeFileSync(badPort, JSON.stringify(broken));

    for (const [file, message] of [
      [notJson, /not-json\.json: \(file\): received text that is not JSON/],
      [badPort, /bad-port\.json: accounts\.0\.endpoints\.0\.port: received "eighty"; allowed: a value of type number/],
    ] as const) {
      // WHEN planned and applied
      const plan = await run('plan', '--manifest', file);
      const apply = await run('apply', '--manifest', file);

      // THEN both exit 1 naming the file, the field and what is allowed
      expectExit(plan, 1);
      expect(plan.stderr).toMatch(message);
      expectExit(apply, 1);
      expect(apply.stderr).toMatch(message);
    }
    // AND the same processes still serve the same specs
    expect(await world(stateDir)).toEqual(before);
  });

  test('fails an app that does not validate with exit 1 naming the construct, touching nothing that runs', async () => {
    // GIVEN an app whose channel has a key frame interval out of range
    const before = await world(stateDir);
    // Inside the package, as a user's app sits in a project that has cdktf installed.
    fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    const appDir = fs.mkdtempSync(path.join(ROOT, 'test-artifacts', 'bad-app-'));
    const app = path.join(appDir, 'main.ts');
    fs.writeFileSync(app, [
      `import { App, TerraformStack } from 'cdktf';`,
      `import { MediaAccount } from '${path.join(ROOT, 'constructs')}';`,
      'const app = new App();',
      `const account = new MediaAccount(new TerraformStack(app, 'bad'), 'demo');`,
      `account.addLiveChannel('news', { keyFrameInterval: '30s' });`,
      'app.synth();',
    ].join('\n'));

    const result = await run('apply', '--app', app);

    expectExit(result, 1);
    expect(result.stderr).toMatch(/bad\/demo\/news: keyFrameInterval: received 30s; allowed: from 0\.5s to 20s/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(await world(stateDir)).toEqual(before);
    fs.rmSync(appDir, { recursive: true, force: true });
  });

  test('a saved plan is applied as saved, and refused once the world moved', async () => {
    // GIVEN a change (the endpoint's CORS) planned and saved
    const changed = JSON.parse(JSON.stringify(manifest)) as Manifest;
    (changed.accounts[0].endpoints[0] as { corsAllowedOrigins: string[] }).corsAllowedOrigins = ['https://player.example.com'];
    const changedFile = path.join(dir, 'changed.json');
    fs.writeFileSync(changedFile, JSON.stringify(changed));
    const planFile = path.join(dir, 'cors.plan.json');
    const saved = await run('plan', '--manifest', changedFile, '--out', planFile);
    expectExit(saved, 2);
    expect(saved.stdout).toMatch(/-\/\+ replace\s+ls-\w+-origin-web-0\s+origin\s+changed: config\.endpoint\.corsAllowedOrigins\s+! playback interrupted/);
    // (the key service answers browsers too, so it follows the endpoints' CORS origins)
    expect(saved.stdout).toMatch(/-\/\+ replace\s+ls-\w+-keys\s+keys\s+changed: config\.corsAllowedOrigins\s+! key delivery interrupted/);
    // AND a second saved plan of the original manifest, made now
    const stalePlan = path.join(dir, 'stale.plan.json');
    expectExit(await run('plan', '--manifest', manifestFile, '--out', stalePlan), 0);

    // WHEN the first is applied
    const applied = await livestack(['apply', planFile]);

    // THEN it does what it said, and nothing is left to do for its manifest
    expectExit(applied, 0);
    expect(applied.stdout).toContain('Apply complete: 0 created, 2 replaced, 0 updated in place, 0 deleted, 0 unchanged.');
    expectExit(await run('plan', '--manifest', changedFile), 0);
    // AND the second, made against the world before, is refused without touching anything
    const before = await world(stateDir);
    const refused = await livestack(['apply', stalePlan]);
    expectExit(refused, 1);
    expect(refused.stderr).toMatch(/the world moved since the plan was made .*; run plan again/);
    expect(await world(stateDir)).toEqual(before);
    manifest = changed;
  });

  test('fails to apply when a secret variable is missing, naming it, and starts nothing for it', async () => {
    // GIVEN the running manifest plus a key policy that needs TF_VAR_viewer_secret, which is not set
    const secretive = JSON.parse(JSON.stringify(manifest)) as { accounts: { keyPolicies: unknown[] }[] };
    secretive.accounts[0].keyPolicies = [{
      name: 'viewers', path: 'app/viewers', keyType: 'aes-128',
      restriction: {
        type: 'token', issuer: 'https://issuer.example', audience: 'viewers', algorithms: ['HS256'],
        keys: [{ kind: 'symmetric', secret: { kind: 'variable', id: 'viewer-secret', name: 'viewer_secret' } }],
        requiredClaims: {}, clockSkewSeconds: 30,
      },
    }];
    const file = path.join(dir, 'secretive.json');
    fs.writeFileSync(file, JSON.stringify(secretive));
    const before = await world(stateDir);

    const result = await run('apply', '--manifest', file, '--timeout', '20');

    expectExit(result, 1);
    expect(result.stderr).toMatch(/TF_VAR_viewer_secret/);
    expect(result.stdout + result.stderr).toMatch(/not retried/);
    expect(await world(stateDir)).toEqual(before);
  });

  test('doctor checks ffmpeg, nginx with RTMP and the app\'s ports, saying how to fix what fails', async () => {
    const result = await run('doctor', '--manifest', manifestFile);

    expectExit(result, 0);
    expect(result.stdout).toMatch(/^ok\s+ffmpeg: ffmpeg version/m);
    expect(result.stdout).toMatch(/^ok\s+nginx \+ RTMP module: .*ngx_rtmp_module\.so loads/m);
    expect(result.stdout).toMatch(/^ok\s+port 127\.0\.0\.1:\d+: in use by this app's own ls-\w+-keys/m);
    expect(result.stdout).toContain('Everything livestack needs is here.');
  });

  test('destroy stops every workload and frees their ports', async () => {
    const result = await run('destroy');

    expectExit(result, 0);
    expect(result.stdout).toContain('Destroy complete: no workload is running.');
    expect(await world(stateDir)).toEqual([]);
    const plan = await run('plan', '--manifest', manifestFile);
    expectExit(plan, 2);
  });
});
