/**
 * The key service's JWT checks (RFC 8725), in process: every refusal the e2e suites prove over HTTP,
 * here on the verifier itself, with tokens signed by jose and keys made by node:crypto. No process, no
 * network: a symmetric secret from the environment, PEM public keys, an inline JWKS.
 */
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { secretEnvName } from '../../../lib/contract/workload-env';
import { TokenVerifier } from '../../../lib/dataplane/keys/token-verifier';
import { KeyRestriction } from '../../../lib/model/manifest';

type TokenPolicy = Extract<KeyRestriction, { type: 'token' }>;

const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';
const NOW = Date.parse('2026-12-01T12:00:00Z');
const env = { [secretEnvName('demo-viewers-jwt-key-0')]: SECRET };
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function policy(change: Partial<TokenPolicy> = {}): TokenPolicy {
  return {
    type: 'token', issuer: 'https://auth.example.com', audience: 'players', algorithms: ['HS256'],
    keys: [{ kind: 'symmetric', secret: { kind: 'variable', id: 'demo-viewers-jwt-key-0', name: 'jwt_secret' } }],
    requiredClaims: {}, clockSkewSeconds: 30, requireExp: true, maxLifetimeSeconds: 86_400,
    ...change,
  } as TokenPolicy;
}

async function sign(claims: Record<string, unknown> = {}, options: { alg?: string; key?: unknown; kid?: string; exp?: number | null; iat?: number } = {}): Promise<string> {
  const now = Math.floor(NOW / 1000);
  const jwt = new SignJWT({ ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'HS256', ...(options.kid ? { kid: options.kid } : {}) })
    .setIssuer((claims.iss as string) ?? 'https://auth.example.com')
    .setAudience((claims.aud as string) ?? 'players')
    .setIssuedAt(options.iat ?? now);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now + 600);
  return jwt.sign((options.key ?? new TextEncoder().encode(SECRET)) as Uint8Array);
}

describe('TokenVerifier', () => {
  let storage: string;
  beforeAll(() => { storage = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-verifier-')); });
  afterAll(() => fs.rmSync(storage, { recursive: true, force: true }));
  const verifier = (change: Partial<TokenPolicy> = {}) => TokenVerifier.create(policy(change), storage, env);

  test('accepts a token signed with the policy\'s secret, for its issuer and audience, within its life', async () => {
    expect(await verifier().verify(await sign(), NOW)).toEqual({ ok: true });
  });

  test.each([
    ['alg none', async () => new UnsecuredJWT({ iss: 'https://auth.example.com', aud: 'players', exp: NOW / 1000 + 60 }).encode(), /algorithm none is not allowed/],
    ['an algorithm the policy does not pin', async () => sign({}, { alg: 'HS384' }), /algorithm HS384 is not allowed/],
    ['a wrong signature', async () => sign({}, { key: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!!') }), /signature/],
    ['another issuer', async () => sign({ iss: 'https://evil.example.com' }), /iss/],
    ['another audience', async () => sign({ aud: 'other' }), /aud/],
    ['an expired token', async () => sign({}, { exp: NOW / 1000 - 120 }), /exp/],
    ['a token without exp (required by default)', async () => sign({}, { exp: null }), /exp/],
    ['a token living longer than the policy allows', async () => sign({}, { exp: NOW / 1000 + 2 * 86_400 }), /maximum/],
    ['garbage', async () => 'not.a.token', /malformed/],
  ])('refuses %s', async (_name, make, reason) => {
    const verdict = await verifier().verify(await make(), NOW);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok === false && verdict.reason).toMatch(reason);
  });

  test('honours the clock skew around exp and nbf', async () => {
    const justExpired = await sign({}, { exp: NOW / 1000 - 10 });
    expect((await verifier().verify(justExpired, NOW)).ok).toBe(true);
    expect((await verifier({ clockSkewSeconds: 0 }).verify(justExpired, NOW)).ok).toBe(false);
    const notYet = await sign({ nbf: NOW / 1000 + 60 });
    expect((await verifier().verify(notYet, NOW)).ok).toBe(false);
  });

  test('required claims must be present, and equal when the policy gives a value', async () => {
    const v = verifier({ requiredClaims: { entitlement: 'premium', sub: null } });
    expect((await v.verify(await sign({ entitlement: 'premium', sub: 'u1' }), NOW)).ok).toBe(true);
    expect((await v.verify(await sign({ entitlement: 'basic', sub: 'u1' }), NOW))).toEqual({ ok: false, reason: 'claim entitlement does not have the required value' });
    expect((await v.verify(await sign({ entitlement: 'premium' }), NOW)).ok).toBe(false);
  });

  test('RS256 with a PEM public key; an HS256 token signed with the public key as secret is refused (no algorithm confusion)', async () => {
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const v = verifier({ algorithms: ['RS256'], keys: [{ kind: 'publicKeyPem', pem }] });
    expect((await v.verify(await sign({}, { alg: 'RS256', key: rsa.privateKey }), NOW)).ok).toBe(true);
    const confused = await sign({}, { alg: 'HS256', key: new TextEncoder().encode(pem) });
    expect(await v.verify(confused, NOW)).toEqual({ ok: false, reason: 'algorithm HS256 is not allowed by this key policy' });
  });

  test('ES256 with an inline JWKS picks the key by kid and refuses an unknown kid', async () => {
    const jwk = { ...(await exportJWK(ec.publicKey)), kid: 'k1', alg: 'ES256' };
    const v = verifier({ algorithms: ['ES256'], keys: [{ kind: 'jwks', jwks: { keys: [jwk] } }] });
    expect((await v.verify(await sign({}, { alg: 'ES256', key: ec.privateKey, kid: 'k1' }), NOW)).ok).toBe(true);
    expect(await v.verify(await sign({}, { alg: 'ES256', key: ec.privateKey, kid: 'k2' }), NOW)).toEqual({ ok: false, reason: 'unknown key id (kid)' });
  });

  test('a refusal never carries the token or the key', async () => {
    const token = await sign({ aud: 'other' });
    const verdict = await verifier().verify(token, NOW);
    const text = JSON.stringify(verdict);
    expect(text).not.toContain(token);
    expect(text).not.toContain(SECRET);
  });
});
