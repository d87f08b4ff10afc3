import { JwtAlgorithm, KeyRestriction as KeyRestrictionManifest } from '../manifest';
import { Duration } from './duration';
import { Secret } from './secret';

/** A key that verifies JWT signatures. */
export class VerificationKey {
  /** A shared secret for HS256/384/512. @param secret @default Secret.generated() */
  static symmetric(secret: Secret = Secret.generated(), options: { readonly kid?: string } = {}): VerificationKey {
    return new VerificationKey({ kind: 'symmetric', secret, kid: options.kid });
  }

  /** An RSA or EC public key in PEM (SPKI, `-----BEGIN PUBLIC KEY-----`). */
  static publicKeyPem(pem: string, options: { readonly kid?: string } = {}): VerificationKey {
    return new VerificationKey({ kind: 'publicKeyPem', pem, kid: options.kid });
  }

  /** An inline JSON Web Key Set. */
  static jwks(jwks: { readonly keys: Record<string, unknown>[] }): VerificationKey {
    return new VerificationKey({ kind: 'jwks', jwks });
  }

  /** A JWKS fetched (and cached) by the key service from a URL. */
  static jwksUrl(url: string): VerificationKey { return new VerificationKey({ kind: 'jwksUrl', url }); }

  private constructor(readonly spec:
    | { readonly kind: 'symmetric'; readonly secret: Secret; readonly kid?: string }
    | { readonly kind: 'publicKeyPem'; readonly pem: string; readonly kid?: string }
    | { readonly kind: 'jwks'; readonly jwks: { readonly keys: Record<string, unknown>[] } }
    | { readonly kind: 'jwksUrl'; readonly url: string }) {}
}

/** Options of a JWT token restriction (RFC 8725 practice: everything pinned). */
export interface TokenRestrictionOptions {
  /** Expected `iss`. */
  readonly issuer: string;
  /** Expected `aud`. */
  readonly audience: string;
  /** Accepted algorithms; `none` is never accepted. @default - HS256 for symmetric keys, RS256 for RSA, ES256 for P-256 keys */
  readonly algorithms?: JwtAlgorithm[];
  /** Verification keys. @default - one generated symmetric key (HS256) */
  readonly keys?: VerificationKey[];
  /** Claims that must be present; a non-null value must match exactly. @default - none */
  readonly requiredClaims?: Record<string, string | number | boolean | null>;
  /** Tolerated clock difference for `exp`/`nbf`, 0 s - 5 min. @default Duration.seconds(30) */
  readonly clockSkew?: Duration;
  /**
   * Refuse tokens without an `exp` claim: a token that never expires can be replayed forever once it
   * leaks. Most identity providers issue `exp`; turn this off only for one that does not.
   * @default true
   */
  readonly requireExpiry?: boolean;
  /**
   * Longest a token may be valid, 1 min - 365 days: its `exp` may be at most this long after its `iat`,
   * and at most this long (plus the clock skew) after the moment it is presented.
   * @default Duration.hours(24)
   */
  readonly maxLifetime?: Duration;
}

/** Who may fetch content keys under a key policy. */
export class KeyRestriction {
  /** Anyone who can reach the key service (within the account's key-delivery allow list). */
  static open(): KeyRestriction { return new KeyRestriction({ type: 'open' }); }

  /** A JWT per request, in `Authorization: Bearer` or a `token` query parameter. */
  static token(options: TokenRestrictionOptions): KeyRestriction { return new KeyRestriction({ type: 'token', options }); }

  /** Requests from these addresses or CIDR blocks only. */
  static ip(allowList: string[]): KeyRestriction { return new KeyRestriction({ type: 'ip', allowList }); }

  private constructor(readonly spec:
    | { readonly type: 'open' }
    | { readonly type: 'token'; readonly options: TokenRestrictionOptions }
    | { readonly type: 'ip'; readonly allowList: string[] }) {}
}

export type { KeyRestrictionManifest };
