/**
 * ClearKey license delivery by the real key service (run by the local driver, as `livestack up` runs
 * it): a W3C EME ClearKey license request (`POST /clearkey`, key ids in base64url) is answered with
 * the same per-locator content keys as the AES-128 route, under the same key policies — a token in
 * the Authorization header or the query, an address allow list, or none — with 401 and an RFC 6750
 * challenge without a valid token, CORS for browser players (a JSON POST needs a preflight), clear
 * 400s for malformed requests, and no key or token in any log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { contentKeyId } from '../../lib/contract/content-keys';
import { envelopePolicy, openKeyPolicy, viewersKeyPolicy } from '../../bench/support/origin-manifest';
import { keyLeaks, OriginStack, startOriginStack } from '../../bench/support/origin-stack';
import { rawRequest, RawResponse } from './support/raw-http';
import { viewerToken as viewerTokenFor } from '../../bench/support/tokens';

jest.setTimeout(60_000);

const JWT_SECRET = `test-jwt-secret-${randomBytes(24).toString('hex')}`;
const PLAYER_ORIGIN = 'https://player.example.com';
/** Locators whose keys are under the token policy `viewers`, an `ip` policy (127.0.0.3 only), and an open one. */
const FOR_VIEWERS = randomUUID();
const OFFICE = randomUUID();
const OPEN = randomUUID();

let stack: OriginStack;
const sent: string[] = [];

const viewerToken = () => {
  const token = viewerTokenFor(JWT_SECRET);
  sent.push(token);
  return token;
};
const kid = (locatorId: string) => Buffer.from(contentKeyId(locatorId), 'hex').toString('base64url');

interface License {
  readonly status: number;
  readonly response: RawResponse;
  readonly keys?: { kty: string; kid: string; k: string }[];
  readonly type?: string;
  readonly text: string;
}

async function requestLicense(
  locators: string[],
  options: { token?: string; form?: 'header' | 'query'; localAddress?: string; body?: string; origin?: string } = {},
): Promise<License> {
  const { token, form = 'header' } = options;
  const body = options.body ?? JSON.stringify({ kids: locators.map(kid), type: 'temporary' });
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token && form === 'header') headers.Authorization = `Bearer ${token}`;
  if (options.origin) headers.Origin = options.origin;
  const target = token && form === 'query' ? `/clearkey?token=${token}` : '/clearkey';
  const response = await rawRequest(stack.keyPort, target, { method: 'POST', headers, body, localAddress: options.localAddress });
  const text = response.body.toString();
  const parsed = response.status === 200 ? JSON.parse(text) as { keys: License['keys']; type: string } : undefined;
  return { status: response.status, response, keys: parsed?.keys, type: parsed?.type, text };
}

/** What a ClearKey player gets for `locatorId`: the JWK it would import. */
function jwkFor(locatorId: string) {
  return { kty: 'oct', kid: kid(locatorId), k: stack.contentKey(locatorId).toString('base64url') };
}

beforeAll(async () => {
  stack = await startOriginStack({
    env: { ...process.env, TF_VAR_jwt_secret: JWT_SECRET },
    corsAllowedOrigins: [PLAYER_ORIGIN],
    programs: [{ name: 'vod', assetName: 'vod' }],
    keyPolicies: [
      viewersKeyPolicy(),
      { name: 'office', path: 'app/acme/office', keyType: 'aes-128', restriction: { type: 'ip', allowList: ['127.0.0.3/32'] } },
      openKeyPolicy(),
    ],
    deliveryPolicies: [envelopePolicy('viewers', 'for-viewers'), envelopePolicy('office', 'for-office'), envelopePolicy('open', 'for-anyone')],
    locators: [
      { name: 'viewers', program: 'vod', deliveryPolicy: 'for-viewers', id: FOR_VIEWERS },
      { name: 'office', program: 'vod', deliveryPolicy: 'for-office', id: OFFICE },
      { name: 'open', program: 'vod', deliveryPolicy: 'for-anyone', id: OPEN },
    ],
    assets: [],
  });
});

afterAll(async () => {
  await stack?.stop();
});

describe('granted', () => {
  test('GIVEN a valid token in the Authorization header WHEN a license is requested THEN the answer is the ClearKey JSON Web Key set of the content key', async () => {
    const license = await requestLicense([FOR_VIEWERS], { token: viewerToken() });

    expect(license.status).toBe(200);
    expect(license.response.headers['content-type']).toBe('application/json');
    expect(license.response.headers['cache-control']).toBe('private, no-store');
    expect(license.type).toBe('temporary');
    expect(license.keys).toEqual([jwkFor(FOR_VIEWERS)]);
    // The same 16 bytes as the AES-128 key route hands out for the locator.
    const aes = await fetch(stack.keyUrl(FOR_VIEWERS), { headers: { Authorization: `Bearer ${viewerToken()}` } });
    expect(Buffer.from(await aes.arrayBuffer()).toString('base64url')).toBe(license.keys?.[0].k);
  });

  test('GIVEN the token in the token query parameter WHEN a license is requested THEN it is granted', async () => {
    const license = await requestLicense([FOR_VIEWERS], { token: viewerToken(), form: 'query' });

    expect(license.status).toBe(200);
    expect(license.keys).toEqual([jwkFor(FOR_VIEWERS)]);
  });

  test('GIVEN an ip policy WHEN a listed address asks THEN the license comes back without a token', async () => {
    const license = await requestLicense([OFFICE], { localAddress: '127.0.0.3' });

    expect(license.status).toBe(200);
    expect(license.keys).toEqual([jwkFor(OFFICE)]);
  });

  test('GIVEN an open policy WHEN anyone asks THEN the license comes back', async () => {
    const license = await requestLicense([OPEN]);

    expect(license.status).toBe(200);
    expect(license.keys).toEqual([jwkFor(OPEN)]);
  });

  test('GIVEN key ids this service does not hold beside one it does WHEN a license is requested THEN only the held key comes back', async () => {
    const license = await requestLicense([randomUUID(), OPEN, randomUUID()]);

    expect(license.status).toBe(200);
    expect(license.keys).toEqual([jwkFor(OPEN)]);
  });

  test('GIVEN keys of two policies and a token good for one WHEN both are asked for from an allowed address THEN both come back', async () => {
    const license = await requestLicense([FOR_VIEWERS, OFFICE], { token: viewerToken(), localAddress: '127.0.0.3' });

    expect(license.status).toBe(200);
    expect(license.keys).toEqual([jwkFor(FOR_VIEWERS), jwkFor(OFFICE)]);
  });
});

describe('refused', () => {
  test('refuses a license without a token with 401 and a challenge carrying no error code (RFC 6750)', async () => {
    const license = await requestLicense([FOR_VIEWERS]);

    expect(license.status).toBe(401);
    expect(license.response.headers['www-authenticate']).toBe('Bearer realm="livestack"');
    expect(license.text).toBe('license refused: a token is required (Authorization: Bearer, or the token query parameter)\n');
  });

  test('refuses a license with a token that does not verify with 401 invalid_token', async () => {
    const license = await requestLicense([FOR_VIEWERS], { token: viewerTokenFor('another-secret-of-at-least-32-bytes!!') });

    expect(license.status).toBe(401);
    expect(license.response.headers['www-authenticate']).toBe('Bearer realm="livestack", error="invalid_token"');
    expect(license.text).toBe('license refused: signature does not verify\n');
  });

  test('refuses a whole license when one of its keys is refused, even if the token unlocks the other (a token cannot widen what it opens)', async () => {
    const license = await requestLicense([FOR_VIEWERS, OFFICE], { token: viewerToken() });

    expect(license.status).toBe(403);
    expect(license.text).toBe('license refused: your address is not allowed by this key policy\n');
    expect(license.keys).toBeUndefined();
  });

  test('refuses key ids it does not hold with 404', async () => {
    const license = await requestLicense([randomUUID()]);

    expect(license.status).toBe(404);
    expect(license.text).toBe('license refused: none of the requested key ids is served here\n');
  });

  test.each([
    ['not JSON', 'kids=abc', 'the license request is not JSON; expected {"kids":["<base64url key id>"],"type":"temporary"}'],
    ['no key ids', '{"kids":[],"type":"temporary"}', '"kids" must be a non-empty array of base64url key ids'],
    ['a key id that is not 16 bytes of base64url', '{"kids":["abc"]}', 'kids[0] is not a base64url 16-byte key id'],
    ['a persistent license', JSON.stringify({ kids: [Buffer.alloc(16).toString('base64url')], type: 'persistent-license' }), 'license type "persistent-license" is not offered; allowed: "temporary"'],
  ])('fails on a request with %s, with 400 saying what is allowed', async (_case, body, message) => {
    const license = await requestLicense([], { body });

    expect(license.status).toBe(400);
    expect(license.text).toBe(`bad license request: ${message}\n`);
  });

  test('fails on a request body over 4 KiB with 413', async () => {
    const license = await requestLicense([], { body: JSON.stringify({ kids: Array.from({ length: 300 }, () => kid(OPEN)) }) });

    expect(license.status).toBe(413);
  });

  test('fails on a GET of the license URL with 405 naming the allowed methods', async () => {
    const answer = await rawRequest(stack.keyPort, '/clearkey');

    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST, OPTIONS');
  });
});

describe('CORS', () => {
  test('GIVEN a player page on an allowed origin WHEN its browser preflights the JSON POST THEN POST and Content-Type are allowed, and the license carries the origin', async () => {
    const preflight = await rawRequest(stack.keyPort, '/clearkey', {
      method: 'OPTIONS',
      headers: { Origin: PLAYER_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
    });
    const license = await requestLicense([FOR_VIEWERS], { token: viewerToken(), origin: PLAYER_ORIGIN });

    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(PLAYER_ORIGIN);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers']).toBe('Authorization, Content-Type');
    expect(license.status).toBe(200);
    expect(license.response.headers['access-control-allow-origin']).toBe(PLAYER_ORIGIN);
  });

  test('GIVEN another origin WHEN it preflights THEN it is refused', async () => {
    const preflight = await rawRequest(stack.keyPort, '/clearkey', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' },
    });

    expect(preflight.status).toBe(403);
  });
});

describe('logs', () => {
  test('GIVEN every request above WHEN the workload logs are read THEN refusals are there, but no key (in any encoding) and no token', () => {
    const logs = stack.workloadLogs();

    expect(logs.toString()).toMatch(/refused license [0-9a-f]{32} \(key policy viewers\) to [0-9a-f.:]+: 401 a token is required/);
    for (const locator of [FOR_VIEWERS, OFFICE, OPEN]) expect(keyLeaks(logs, stack.contentKey(locator))).toEqual([]);
    expect(sent.length).toBeGreaterThanOrEqual(5);
    for (const token of sent) {
      expect(logs.includes(token)).toBe(false);
      expect(logs.includes(token.split('.')[1])).toBe(false);
    }
    expect(logs.includes(JWT_SECRET)).toBe(false);
  });
});
