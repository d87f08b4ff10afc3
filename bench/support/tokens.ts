/**
 * JWTs for key service tests: valid ones, and each kind of bad one RFC 8725 says a verifier must
 * refuse. Built here with node:crypto (RFC 7515 compact form) rather than jose, because the tests
 * must also write what no well-behaved library writes (`alg: none`, an HMAC keyed with a public key),
 * and an implementation other than the verifier's shows the tokens it accepts are well formed (the key
 * service verifies with jose).
 */
import { createHmac, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { VIEWERS } from './origin-manifest';

export type TestAlgorithm = 'HS256' | 'RS256' | 'none';

export interface MintOptions {
  readonly alg: TestAlgorithm;
  /** HMAC secret bytes (HS256) or a private key (RS256); ignored for `none`. */
  readonly key?: Uint8Array | KeyObject;
  readonly issuer?: string;
  readonly audience?: string;
  readonly kid?: string;
  readonly claims?: Record<string, unknown>;
  /** Seconds from now (negative: in the past); null: no `exp` at all. @default 600 */
  readonly expiresIn?: number | null;
  /** Seconds from now, when the token carries `nbf`. */
  readonly notBefore?: number;
}

export function mintToken(options: MintOptions): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: options.alg, typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}) };
  const payload: Record<string, unknown> = { ...options.claims, iat: now };
  if (options.expiresIn !== null) payload.exp = now + (options.expiresIn ?? 600);
  if (options.issuer) payload.iss = options.issuer;
  if (options.audience) payload.aud = options.audience;
  if (options.notBefore !== undefined) payload.nbf = now + options.notBefore;
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${signature(options.alg, input, options.key)}`;
}

/** A token that satisfies `viewersKeyPolicy` when signed with `secret`, with anything overridden. */
export function viewerToken(secret: string, overrides: Partial<MintOptions> = {}): string {
  return mintToken({
    alg: 'HS256', key: Buffer.from(secret), issuer: VIEWERS.issuer, audience: VIEWERS.audience, claims: { ...VIEWERS.requiredClaims }, ...overrides,
  });
}

function part(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function signature(alg: TestAlgorithm, input: string, key: Uint8Array | KeyObject | undefined): string {
  switch (alg) {
    case 'none':
      return '';
    case 'HS256':
      if (!key || key instanceof KeyObject) throw new Error('HS256 test tokens need secret bytes');
      return createHmac('sha256', key).update(input).digest('base64url');
    case 'RS256':
      if (!(key instanceof KeyObject)) throw new Error('RS256 test tokens need a private KeyObject');
      return sign('sha256', Buffer.from(input), key).toString('base64url');
  }
}

export interface RsaKeyPair {
  readonly privateKey: KeyObject;
  /** SPKI PEM (`-----BEGIN PUBLIC KEY-----`), as a key policy holds it. */
  readonly publicKeyPem: string;
}

export function rsaKeyPair(): RsaKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The same token with one character of its signature changed (still valid base64url). */
export function tamperSignature(token: string): string {
  const at = token.lastIndexOf('.') + 5;
  const swapped = token[at] === 'A' ? 'B' : 'A';
  return `${token.slice(0, at)}${swapped}${token.slice(at + 1)}`;
}
