import { createPublicKey } from 'node:crypto';
import { JwtAlgorithm, VerificationKey } from './manifest';

/** The key family a JWT algorithm needs (RFC 7518); mixing families invites algorithm confusion. */
export type KeyFamily = 'oct' | 'RSA' | 'EC-P-256' | 'EC-P-384' | 'EC-P-521' | 'OKP';

export const ALGORITHM_FAMILY: Record<JwtAlgorithm, KeyFamily> = {
  HS256: 'oct', HS384: 'oct', HS512: 'oct',
  RS256: 'RSA', RS384: 'RSA', RS512: 'RSA', PS256: 'RSA', PS384: 'RSA', PS512: 'RSA',
  ES256: 'EC-P-256', ES384: 'EC-P-384', ES512: 'EC-P-521', EdDSA: 'OKP',
};

export const DEFAULT_ALGORITHM: Record<KeyFamily, JwtAlgorithm> = {
  oct: 'HS256', RSA: 'RS256', 'EC-P-256': 'ES256', 'EC-P-384': 'ES384', 'EC-P-521': 'ES512', OKP: 'EdDSA',
};

/** Family of a PEM public key; throws when the text is not a public key. */
export function pemKeyFamily(pem: string): KeyFamily {
  const key = createPublicKey(pem);
  switch (key.asymmetricKeyType) {
    case 'rsa': case 'rsa-pss': return 'RSA';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'secp384r1' ? 'EC-P-384' : curve === 'secp521r1' ? 'EC-P-521' : 'EC-P-256';
    }
    default: return 'OKP';
  }
}

/** Family of a JWK (`kty`, `crv`), undefined when it has none. */
export function jwkFamily(jwk: { kty?: unknown; crv?: unknown }): KeyFamily | undefined {
  if (jwk.kty === 'EC') return `EC-${String(jwk.crv)}` as KeyFamily;
  return typeof jwk.kty === 'string' ? (jwk.kty as KeyFamily) : undefined;
}

/** Family of a manifest verification key; 'any' for a JWKS URL (known only at run time). */
export function verificationKeyFamily(key: VerificationKey): KeyFamily | 'any' | undefined {
  switch (key.kind) {
    case 'symmetric': return 'oct';
    case 'publicKeyPem':
      try { return pemKeyFamily(key.pem); } catch { return undefined; }
    case 'jwks': return jwkFamily(key.jwks.keys[0] as { kty?: unknown; crv?: unknown });
    case 'jwksUrl': return 'any';
  }
}
