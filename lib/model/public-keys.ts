/**
 * What may stand where a verification key is expected: public key material only. A private PEM, a
 * private JWK (`d`, `p`, `q`, ...) or a symmetric JWK (`kty: "oct"`, `k`) is a secret: written into
 * `cdk.tf.json` and the manifest it would be in clear, so it is refused here (symmetric keys go through
 * `VerificationKey.symmetric(Secret...)`). Problems never quote the key: only its kind and size.
 */
import { createPublicKey, KeyObject } from 'node:crypto';

/** RSA keys below this many bits are refused: jose (and RFC 7518 §3.3) refuse tokens signed with them. */
export const MIN_RSA_BITS = 2048;

/** JWK members that only private keys carry (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** JWK members copied into the manifest: the public parameters and their metadata. */
const PUBLIC_MEMBERS = ['kty', 'kid', 'use', 'alg', 'key_ops', 'n', 'e', 'crv', 'x', 'y'] as const;

export interface KeyProblem {
  readonly received: string;
  readonly allowed: string;
}

const PEM_ALLOWED = `an RSA (${MIN_RSA_BITS} bits or more), EC or Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)`;
const JWK_ALLOWED = `a public JWK: kty "RSA" (n, e; ${MIN_RSA_BITS} bits or more), "EC" (crv, x, y) or "OKP" (crv, x), without private members; a shared secret goes through VerificationKey.symmetric(Secret.fromVariable(...))`;

/** Why a PEM text cannot serve as a verification key (empty when it can). */
export function publicKeyPemProblems(pem: unknown): KeyProblem[] {
  if (typeof pem !== 'string') return [{ received: `a ${typeof pem}`, allowed: PEM_ALLOWED }];
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return [{ received: 'a PRIVATE key (not shown: keep it out of your code and rotate it)', allowed: `${PEM_ALLOWED}: export the public half, e.g. openssl pkey -pubout` }];
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    return [{ received: `text that is not a public key (${(error as Error).message})`, allowed: PEM_ALLOWED }];
  }
  return keyObjectProblems(key, PEM_ALLOWED);
}

/** Why one member of an inline JWKS cannot serve as a verification key (empty when it can). */
export function publicJwkProblems(jwk: unknown): KeyProblem[] {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return [{ received: 'something that is not a JWK object', allowed: JWK_ALLOWED }];
  const members = jwk as Record<string, unknown>;
  if (members.kty === 'oct') return [{ received: 'a symmetric JWK (kty "oct"; its secret is not shown)', allowed: JWK_ALLOWED }];
  const privateOnes = PRIVATE_MEMBERS.filter((name) => name in members);
  if (privateOnes.length > 0) {
    return [{ received: `a private JWK (kty ${JSON.stringify(members.kty)} with private member${privateOnes.length > 1 ? 's' : ''} ${privateOnes.join(', ')}; values not shown)`, allowed: JWK_ALLOWED }];
  }
  if (members.kty !== 'RSA' && members.kty !== 'EC' && members.kty !== 'OKP') {
    return [{ received: `a JWK with kty ${JSON.stringify(members.kty ?? null)}`, allowed: JWK_ALLOWED }];
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicJwkMembers(members) as never, format: 'jwk' });
  } catch (error) {
    return [{ received: `a ${String(members.kty)} JWK that is not a valid public key (${(error as Error).message})`, allowed: JWK_ALLOWED }];
  }
  return keyObjectProblems(key, JWK_ALLOWED);
}

/** The public members of a JWK, for the manifest. */
export function publicJwkMembers(jwk: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of PUBLIC_MEMBERS) if (jwk[name] !== undefined) kept[name] = jwk[name];
  return kept;
}

function keyObjectProblems(key: KeyObject, allowed: string): KeyProblem[] {
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    // A garbage modulus decodes to a short or even number: both are no RSA key anyone can sign with.
    return bits < MIN_RSA_BITS ? [{ received: `an RSA public key of ${bits} bits`, allowed }] : [];
  }
  if (type === 'ec' || type === 'ed25519' || type === 'ed448') return [];
  return [{ received: `a ${type ?? 'unknown'} public key`, allowed }];
}
