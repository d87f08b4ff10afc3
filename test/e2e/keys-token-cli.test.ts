/**
 * `livestack token --app examples/protected/main.ts`, run through the CLI binary as a user would:
 * it prints a JWT that the key service of that very app (its key policy, its secret variable) accepts,
 * and never prints the secret. The example's key service runs on the local driver, moved to free ports
 * (the example's own ports are for the suites that run the examples).
 */
import { servedLocatorId } from '../support/locator-ids';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Manifest } from '../../lib/model/manifest';
import { loadApp } from '../../lib/runtime/desired-state';
import { contentKeyId } from '../../lib/contract/content-keys';
import { freePort } from '../../bench/support/manifest-fixtures';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';

jest.setTimeout(90_000);

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'livestack');
const APP = 'examples/protected/main.ts';
const JWT_SECRET = `example-jwt-secret-${randomBytes(24).toString('hex')}`;
const run = promisify(execFile);

let stack: LocalStack;
let keyUrl: string;

/** The example's manifest on free ports, its channel stopped (no ingest: only key delivery is tested). */
async function relocated(manifest: Manifest): Promise<Manifest> {
  const copy = structuredClone(manifest);
  for (const account of copy.accounts) {
    account.keyDelivery.port = await freePort();
    for (const endpoint of account.endpoints) endpoint.port = await freePort();
    for (const channel of account.channels) {
      channel.port = await freePort();
      channel.state = 'stopped';
    }
  }
  return copy;
}

/** `livestack token` as a child process; never rejects, so failures can be asserted. */
async function livestackToken(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'token', '--app', APP, ...args], { cwd: ROOT, env, timeout: 60_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const withSecret = () => ({ ...process.env, TF_VAR_jwt_secret: JWT_SECRET });
const withoutSecret = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'TF_VAR_jwt_secret'));

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
}

beforeAll(async () => {
  const manifest = await relocated((await loadApp(path.join(ROOT, APP))).manifest);
  const account = manifest.accounts[0];
  stack = await startLocalStack(manifest, { env: withSecret() });
  await stack.waitReady(30_000);
  keyUrl = `http://127.0.0.1:${account.keyDelivery.port}/keys/${contentKeyId(servedLocatorId(stack.storageDir(account.name), account, account.locators[0]))}`;
});

afterAll(async () => {
  await stack?.stop();
});

test('GIVEN TF_VAR_jwt_secret WHEN livestack token runs on the protected example THEN it prints one JWT that the example\'s key service accepts', async () => {
  const { code, stdout, stderr } = await livestackToken([], withSecret());
  const token = stdout.trim();

  const byHeader = await fetch(keyUrl, { headers: { Authorization: `Bearer ${token}` } });
  const byQuery = await fetch(`${keyUrl}?token=${token}`);

  expect(code).toBe(0);
  expect(stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
  expect(byHeader.status).toBe(200);
  expect((await byHeader.arrayBuffer()).byteLength).toBe(16);
  expect(byQuery.status).toBe(200);
  expect(`${stdout}${stderr}`).not.toContain(JWT_SECRET);
});

test('GIVEN --ttl WHEN livestack token runs THEN the token carries the policy\'s issuer, audience, required claim and that lifetime', async () => {
  const { stdout } = await livestackToken(['--ttl', '120'], withSecret());

  const claims = claimsOf(stdout.trim());

  expect(claims).toMatchObject({ iss: 'https://auth.example.com', aud: 'livestack-premium', entitlement: 'premium' });
  expect(Number(claims.exp) - Number(claims.iat)).toBe(120);
});

test('GIVEN --claim overriding the required claim WHEN the key is asked for with that token THEN the key service refuses it', async () => {
  const { code, stdout } = await livestackToken(['--claim', 'entitlement=basic'], withSecret());

  const answer = await fetch(keyUrl, { headers: { Authorization: `Bearer ${stdout.trim()}` } });

  expect(code).toBe(0);
  expect(answer.status).toBe(401);
  expect(await answer.text()).toBe('key refused: claim entitlement does not have the required value\n');
});

test('fails without TF_VAR_jwt_secret, saying which variable to set, and prints no token', async () => {
  const { code, stdout, stderr } = await livestackToken([], withoutSecret());

  expect(code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr).toBe('livestack: key policy viewers: verifies with Terraform variable jwt_secret: set TF_VAR_jwt_secret\n');
});

test('fails on a bad --ttl with a message naming the option', async () => {
  const { code, stdout, stderr } = await livestackToken(['--ttl', 'soon'], withSecret());

  expect(code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr).toContain('--ttl');
  expect(stderr).toContain('"soon"');
});
