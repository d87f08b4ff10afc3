/**
 * The key service under its key policies: the real workload, run by the local driver, answers valid
 * tokens (HS256 secret, RS256 PEM key, a remote JWKS) with the 16-byte content key and every kind of bad
 * token RFC 8725 names with 401 and a reason; `ip` policies by the client's address; and it never
 * writes a key or a token to its log.
 */
import { createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { storagePaths } from '../../lib/contract/storage-layout';
import { contentKeyId } from '../../lib/contract/content-keys';
import { freePort } from '../../bench/support/manifest-fixtures';
import { envelopePolicy, tokenKeyPolicy, viewersKeyPolicy, VIEWERS } from '../../bench/support/origin-manifest';
import { keyLeaks, OriginStack, startOriginStack } from '../../bench/support/origin-stack';
import { rawRequest } from './support/raw-http';
import { mintToken, MintOptions, rsaKeyPair, tamperSignature, viewerToken as viewerTokenFor } from '../../bench/support/tokens';

jest.setTimeout(60_000);

const { issuer: ISSUER, audience: AUDIENCE } = VIEWERS;
const JWT_SECRET = `test-jwt-secret-${randomBytes(24).toString('hex')}`;
const PARTNER_KID = 'partner-2026';
const SKEW_SECONDS = 30;
/** Locator whose key is under the HS256 policy (secret from a Terraform variable, a required claim). */
const FOR_VIEWERS = randomUUID();
/** Locator whose key is under the RS256 policy (a PEM public key with a kid). */
const PARTNERS = randomUUID();
const partnerKeys = rsaKeyPair();
/** Locator whose key is under a policy verified by the identity provider's JWKS (served by this test). */
const FEDERATED = randomUUID();
const IDP_KID = 'idp-1';
const idpKeys = rsaKeyPair();
/** Locator whose key is under an `ip` policy allowing only 127.0.0.3. */
const OFFICE = randomUUID();
let jwksServer: http.Server;

let stack: OriginStack;
const sent: string[] = [];

const viewerToken = (overrides: Partial<MintOptions> = {}) => viewerTokenFor(JWT_SECRET, overrides);
const partnerToken = (overrides: Partial<MintOptions> = {}) => mintToken({
  alg: 'RS256', key: partnerKeys.privateKey, kid: PARTNER_KID, issuer: ISSUER, audience: AUDIENCE, ...overrides,
});

/** Asks for a locator's content key, with the token in the Authorization header or the query. */
async function requestKey(locatorId: string, token?: string, form: 'header' | 'query' = 'header') {
  if (token) sent.push(token);
  const url = form === 'query' && token ? `${stack.keyUrl(locatorId)}?token=${token}` : stack.keyUrl(locatorId);
  const headers: Record<string, string> = form === 'header' && token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(url, { headers });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), challenge: response.headers.get('www-authenticate') };
}

beforeAll(async () => {
  const jwksPort = await freePort();
  const jwks = JSON.stringify({ keys: [{ ...createPublicKey(idpKeys.publicKeyPem).export({ format: 'jwk' }), kid: IDP_KID, alg: 'RS256', use: 'sig' }] });
  jwksServer = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(jwks));
  await new Promise<void>((resolve) => jwksServer.listen(jwksPort, '127.0.0.1', resolve));
  stack = await startOriginStack({
    env: { ...process.env, TF_VAR_jwt_secret: JWT_SECRET },
    programs: [{ name: 'vod', assetName: 'vod' }],
    keyPolicies: [
      viewersKeyPolicy(SKEW_SECONDS),
      tokenKeyPolicy('partners', {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['RS256'],
        keys: [{ kind: 'publicKeyPem', kid: PARTNER_KID, pem: partnerKeys.publicKeyPem }],
        clockSkewSeconds: SKEW_SECONDS,
      }),
      tokenKeyPolicy('federated', {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['RS256'],
        keys: [{ kind: 'jwksUrl', url: `http://127.0.0.1:${jwksPort}/.well-known/jwks.json` }],
      }),
      { name: 'office', path: 'app/acme/office', keyType: 'aes-128', restriction: { type: 'ip', allowList: ['127.0.0.3/32'] } },
    ],
    deliveryPolicies: [
      envelopePolicy('viewers', 'for-viewers'), envelopePolicy('partners', 'for-partners'),
      envelopePolicy('federated', 'for-federated'), envelopePolicy('office', 'for-office'),
    ],
    locators: [
      { name: 'viewers', program: 'vod', deliveryPolicy: 'for-viewers', id: FOR_VIEWERS },
      { name: 'partners', program: 'vod', deliveryPolicy: 'for-partners', id: PARTNERS },
      { name: 'federated', program: 'vod', deliveryPolicy: 'for-federated', id: FEDERATED },
      { name: 'office', program: 'vod', deliveryPolicy: 'for-office', id: OFFICE },
    ],
    assets: [],
  });
});

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => (jwksServer ? jwksServer.close(resolve) : resolve(undefined)));
});

describe('granted', () => {
  test('GIVEN an HS256 token with the required claim in the Authorization header WHEN the key is asked for THEN the 16 key bytes come back', async () => {
    const answer = await requestKey(FOR_VIEWERS, viewerToken());

    expect(answer.status).toBe(200);
    expect(answer.body.equals(stack.contentKey(FOR_VIEWERS))).toBe(true);
  });

  test('GIVEN the same kind of token in the token query parameter WHEN the key is asked for THEN the key comes back', async () => {
    const answer = await requestKey(FOR_VIEWERS, viewerToken(), 'query');

    expect(answer.status).toBe(200);
    expect(answer.body.equals(stack.contentKey(FOR_VIEWERS))).toBe(true);
  });

  test('GIVEN an RS256 token signed by the partner key with its kid WHEN the key is asked for THEN the key comes back', async () => {
    const answer = await requestKey(PARTNERS, partnerToken());

    expect(answer.status).toBe(200);
    expect(answer.body.equals(stack.contentKey(PARTNERS))).toBe(true);
    expect(stack.contentKey(PARTNERS).equals(stack.contentKey(FOR_VIEWERS))).toBe(false);
  });

  test('GIVEN an RS256 token signed by a key of the identity provider\'s JWKS WHEN the key is asked for THEN the key service fetches the JWKS and grants it', async () => {
    const answer = await requestKey(FEDERATED, partnerToken({ key: idpKeys.privateKey, kid: IDP_KID }));

    expect(answer.status).toBe(200);
    expect(answer.body.equals(stack.contentKey(FEDERATED))).toBe(true);
  });

  test('GIVEN an ip policy WHEN a listed address asks THEN the key comes back without any token', async () => {
    const answer = await rawRequest(stack.keyPort, `/keys/${contentKeyId(OFFICE)}`, { localAddress: '127.0.0.3' });

    expect(answer.status).toBe(200);
    expect(answer.body.equals(stack.contentKey(OFFICE))).toBe(true);
  });

  test('GIVEN keys handed out WHEN the storage is inspected THEN each is 16 bytes, readable by its owner only', () => {
    const file = storagePaths.contentKey(stack.storageDir, contentKeyId(FOR_VIEWERS));

    expect(fs.statSync(file).size).toBe(16);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });
});

describe('refused with 401', () => {
  const expectRefused = (answer: Awaited<ReturnType<typeof requestKey>>, reason: string, challenge = 'Bearer realm="livestack", error="invalid_token"') => {
    expect(answer.status).toBe(401);
    expect(answer.challenge).toBe(challenge);
    expect(answer.body.toString()).toBe(`key refused: ${reason}\n`);
  };

  test('refuses a request without a token, with a challenge carrying no error code (RFC 6750)', async () => {
    expectRefused(await requestKey(FOR_VIEWERS), 'a token is required (Authorization: Bearer, or the token query parameter)', 'Bearer realm="livestack"');
  });

  test('refuses an unsigned token (alg: none) that carries every right claim', async () => {
    expectRefused(await requestKey(FOR_VIEWERS, viewerToken({ alg: 'none' })), 'algorithm none is not allowed by this key policy');
  });

  test('refuses an HS256 token keyed with the RSA public key of an RS256 policy (algorithm confusion)', async () => {
    const confused = partnerToken({ alg: 'HS256', key: Buffer.from(partnerKeys.publicKeyPem) });

    expectRefused(await requestKey(PARTNERS, confused), 'algorithm HS256 is not allowed by this key policy');
  });

  test('refuses an expired token (past the clock skew)', async () => {
    expectRefused(await requestKey(FOR_VIEWERS, viewerToken({ expiresIn: -(SKEW_SECONDS + 60) })), 'token expired');
  });

  test('refuses a token that is not valid yet (nbf past the clock skew)', async () => {
    expectRefused(await requestKey(FOR_VIEWERS, viewerToken({ notBefore: SKEW_SECONDS + 60, expiresIn: 3600 })), 'token not yet valid');
  });

  test('refuses a token from another issuer', async () => {
    expectRefused(await requestKey(FOR_VIEWERS, viewerToken({ issuer: 'https://evil.example.com' })), 'wrong issuer');
  });

  test('refuses a token for another audience', async () => {
    expectRefused(await requestKey(FOR_VIEWERS, viewerToken({ audience: 'some-other-service' })), 'wrong audience');
  });

  test('refuses a token without the required claim', async () => {
    expectRefused(await requestKey(FOR_VIEWERS, viewerToken({ claims: { plan: 'premium' } })), 'missing required claim entitlement');
  });

  test('refuses a token whose required claim has another value', async () => {
    expectRefused(await requestKey(FOR_VIEWERS, viewerToken({ claims: { entitlement: 'basic' } })), 'claim entitlement does not have the required value');
  });

  test('refuses a token naming an unknown kid, even signed by the right key', async () => {
    expectRefused(await requestKey(PARTNERS, partnerToken({ kid: 'partner-2019' })), 'unknown key id (kid)');
  });

  test('refuses a token without exp, which would never expire (policies require exp by default)', async () => {
    expectRefused(await requestKey(FOR_VIEWERS, viewerToken({ expiresIn: null })), 'missing required claim exp');
  });

  test('refuses a token valid for longer than the policy\'s maximum lifetime (24 h by default)', async () => {
    expectRefused(await requestKey(FOR_VIEWERS, viewerToken({ expiresIn: 2 * 86_400 })), 'token lifetime (exp - iat) exceeds the policy\'s maximum of 86400 s');
  });

  test('refuses a token whose signature was tampered with', async () => {
    const good = viewerToken();
    expect((await requestKey(FOR_VIEWERS, good)).status).toBe(200);

    expectRefused(await requestKey(FOR_VIEWERS, tamperSignature(good)), 'signature does not verify');
  });

  test('refuses a token naming a kid the identity provider\'s JWKS does not hold', async () => {
    expectRefused(await requestKey(FEDERATED, partnerToken({ key: idpKeys.privateKey, kid: 'idp-rotated-away' })), 'unknown key id (kid)');
  });

  test('refuses a token signed by another RSA key', async () => {
    expectRefused(await requestKey(PARTNERS, partnerToken({ key: rsaKeyPair().privateKey })), 'signature does not verify');
  });
});

describe('refused with 403', () => {
  test('refuses an ip-policy key to an address outside its allow list, token or not', async () => {
    const answer = await rawRequest(stack.keyPort, `/keys/${contentKeyId(OFFICE)}`, { headers: { Authorization: `Bearer ${viewerToken()}` } });

    expect(answer.status).toBe(403);
    expect(answer.body.toString()).toBe('key refused: your address is not allowed by this key policy\n');
  });
});

describe('logs', () => {
  test('GIVEN every request above WHEN the workload logs are read THEN refusals are there, but no key, token or secret', async () => {
    const logs = stack.workloadLogs();

    expect(logs.toString()).toMatch(/refused content key [0-9a-f]{32} \(key policy viewers\) to [0-9a-f.:]+: 401 token expired/);
    expect(keyLeaks(logs, stack.contentKey(FOR_VIEWERS))).toEqual([]);
    for (const locator of [PARTNERS, FEDERATED, OFFICE]) expect(keyLeaks(logs, stack.contentKey(locator))).toEqual([]);
    expect(sent.length).toBeGreaterThanOrEqual(14);
    for (const token of sent) {
      expect(logs.includes(token)).toBe(false);
      expect(logs.includes(token.split('.')[1])).toBe(false);
    }
    expect(logs.includes(JWT_SECRET)).toBe(false);
  });
});
