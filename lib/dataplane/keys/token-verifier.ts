/**
 * JWT checks of a `token` key policy, following RFC 8725: the algorithm must be one the policy pins
 * (so `alg: none` and HS/RS confusion fail before any key is tried), issuer and audience must match,
 * `exp`/`nbf` are honoured with the policy's clock skew, required claims must be present (and equal
 * when the policy gives a value). Signatures are checked by jose, never by hand.
 *
 * Verdicts carry a short reason for the 401 body; they never contain the token or key material.
 */
import { createPublicKey, KeyObject, webcrypto } from 'node:crypto';
import {
  createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, JWTPayload, jwtVerify, JWTVerifyGetKey, ProtectedHeaderParameters,
} from 'jose';
import { JwtAlgorithm, KeyRestriction } from '../../model/manifest';
import { resolveSecret } from '../secrets';

type TokenRestriction = Extract<KeyRestriction, { type: 'token' }>;

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

interface StaticKey {
  readonly kid?: string;
  readonly family: 'hmac' | 'rsa' | 'ec' | 'okp';
  readonly key: Uint8Array | KeyObject;
  /** HMAC secrets imported once per algorithm (jose would import a raw secret on every verification). */
  readonly imported?: Map<JwtAlgorithm, Promise<webcrypto.CryptoKey>>;
}

const HMAC_HASH: Partial<Record<JwtAlgorithm, string>> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

const FAMILY: Record<JwtAlgorithm, StaticKey['family']> = {
  HS256: 'hmac', HS384: 'hmac', HS512: 'hmac',
  RS256: 'rsa', RS384: 'rsa', RS512: 'rsa', PS256: 'rsa', PS384: 'rsa', PS512: 'rsa',
  ES256: 'ec', ES384: 'ec', ES512: 'ec',
  EdDSA: 'okp',
};

/** A verified token stays good until it expires; re-verifying it on every key request is waste. */
const VERIFIED_CACHE_LIMIT = 10_000;
const VERIFIED_CACHE_MAX_MS = 60_000;

export class TokenVerifier {
  private readonly verified = new Map<string, number>();

  private constructor(
    private readonly restriction: TokenRestriction,
    private readonly staticKeys: readonly StaticKey[],
    private readonly keySets: readonly JWTVerifyGetKey[],
  ) {}

  /**
   * Resolves the policy's verification keys: symmetric secrets (generated or variable), PEM public
   * keys, inline JWKS and remote JWKS (fetched lazily by jose, cached, refreshed on unknown kids).
   */
  static create(restriction: TokenRestriction, storageDir: string, env: NodeJS.ProcessEnv = process.env): TokenVerifier {
    const staticKeys: StaticKey[] = [];
    const keySets: JWTVerifyGetKey[] = [];
    for (const key of restriction.keys) {
      switch (key.kind) {
        case 'symmetric':
          staticKeys.push({ kid: key.kid, family: 'hmac', key: new TextEncoder().encode(resolveSecret(key.secret, storageDir, env)), imported: new Map() });
          break;
        case 'publicKeyPem': {
          const publicKey = createPublicKey(key.pem);
          staticKeys.push({ kid: key.kid, family: familyOf(publicKey), key: publicKey });
          break;
        }
        case 'jwks':
          keySets.push(createLocalJWKSet(key.jwks as Parameters<typeof createLocalJWKSet>[0]));
          break;
        case 'jwksUrl':
          keySets.push(createRemoteJWKSet(new URL(key.url), { timeoutDuration: 5000, cooldownDuration: 30_000 }));
          break;
      }
    }
    return new TokenVerifier(restriction, staticKeys, keySets);
  }

  async verify(token: string, now = Date.now()): Promise<Verdict> {
    const good = this.verified.get(token);
    if (good !== undefined && good > now) return { ok: true };
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return refuse('malformed token');
    }
    const alg = header.alg as JwtAlgorithm | undefined;
    if (!alg || !this.restriction.algorithms.includes(alg)) return refuse(`algorithm ${String(header.alg)} is not allowed by this key policy`);
    const candidates: (Uint8Array | KeyObject | webcrypto.CryptoKey | JWTVerifyGetKey)[] = await Promise.all(this.staticKeys
      .filter((k) => k.family === FAMILY[alg] && (header.kid === undefined || k.kid === header.kid))
      .map((k) => usableKey(k, alg)));
    candidates.push(...this.keySets);
    if (candidates.length === 0) return refuse(header.kid === undefined ? `no verification key for ${alg}` : 'unknown key id (kid)');
    let last: Verdict = refuse('signature does not verify');
    for (const key of candidates) {
      try {
        const { payload } = await jwtVerify(token, key as Uint8Array, {
          issuer: this.restriction.issuer,
          audience: this.restriction.audience,
          algorithms: this.restriction.algorithms,
          clockTolerance: this.restriction.clockSkewSeconds,
          requiredClaims: [...Object.keys(this.restriction.requiredClaims), ...(this.restriction.requireExp ? ['exp'] : [])],
          currentDate: new Date(now),
        });
        const mismatch = this.claimMismatch(payload) ?? this.lifetimeProblem(payload, now);
        if (mismatch) return refuse(mismatch);
        this.remember(token, payload, now);
        return { ok: true };
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') continue;
        if (code === 'ERR_JWKS_NO_MATCHING_KEY') {
          last = refuse('unknown key id (kid)');
          continue;
        }
        return refuse(reasonOf(error));
      }
    }
    return last;
  }

  /** Required claims with a value must equal it exactly (presence is checked by jose). */
  private claimMismatch(payload: JWTPayload): string | undefined {
    for (const [claim, expected] of Object.entries(this.restriction.requiredClaims)) {
      if (expected !== null && payload[claim] !== expected) return `claim ${claim} does not have the required value`;
    }
    return undefined;
  }

  /**
   * A token valid for longer than the policy allows: `exp` too far after `iat`, or too far ahead of
   * now (a token without `iat` cannot claim a short life it does not state).
   */
  private lifetimeProblem(payload: JWTPayload, now: number): string | undefined {
    if (typeof payload.exp !== 'number') return undefined;
    const max = this.restriction.maxLifetimeSeconds;
    if (typeof payload.iat === 'number' && payload.exp - payload.iat > max) return `token lifetime (exp - iat) exceeds the policy's maximum of ${max} s`;
    if (payload.exp - now / 1000 > max + this.restriction.clockSkewSeconds) return `token expires more than the policy's maximum of ${max} s from now`;
    return undefined;
  }

  private remember(token: string, payload: JWTPayload, now: number): void {
    const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity;
    const until = Math.min(expiresAt, now + VERIFIED_CACHE_MAX_MS);
    if (this.verified.size >= VERIFIED_CACHE_LIMIT) this.verified.clear();
    this.verified.set(token, until);
  }
}

/** The key as jose should get it: HMAC secrets as a CryptoKey imported once for `alg`. */
function usableKey(key: StaticKey, alg: JwtAlgorithm): Uint8Array | KeyObject | webcrypto.CryptoKey | Promise<webcrypto.CryptoKey> {
  const hash = HMAC_HASH[alg];
  if (!key.imported || !hash || !(key.key instanceof Uint8Array)) return key.key;
  let imported = key.imported.get(alg);
  if (!imported) {
    imported = webcrypto.subtle.importKey('raw', key.key, { name: 'HMAC', hash }, false, ['verify']);
    key.imported.set(alg, imported);
  }
  return imported;
}

function familyOf(key: KeyObject): StaticKey['family'] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return 'rsa';
    case 'ec':
      return 'ec';
    default:
      return 'okp';
  }
}

function refuse(reason: string): Verdict {
  return { ok: false, reason };
}

function reasonOf(error: unknown): string {
  const { code, claim, reason } = error as { code?: string; claim?: string; reason?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (reason === 'missing') return `missing required claim ${claim}`;
      if (claim === 'nbf') return 'token not yet valid';
      if (claim === 'iss') return 'wrong issuer';
      if (claim === 'aud') return 'wrong audience';
      return `claim ${claim} is not valid`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm not allowed by this key policy';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return 'verification keys unavailable';
    default:
      return 'malformed or unverifiable token';
  }
}
