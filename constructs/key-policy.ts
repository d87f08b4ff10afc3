import { createPublicKey } from 'node:crypto';
import { Construct } from 'constructs';
import { LivestackValidationError, ValidationIssue } from '../lib/model/errors';
import { jwtAlgorithm, KeyPolicyManifest, KeyRestriction as KeyRestrictionManifest, VerificationKey as VerificationKeyManifest } from '../lib/model/manifest';
import { ipAllowList, keyPolicyProps, tokenRestrictionOptions } from '../lib/model/props';
import { validateProps, zodIssues } from '../lib/model/validate';
import { renderValue } from '../lib/model/errors';
import { isHttpUrl, TOKEN_LIFETIME_SECONDS } from '../lib/model/manifest';
import { publicJwkMembers, publicJwkProblems, publicKeyPemProblems } from '../lib/model/public-keys';
import { IKeyPolicy } from '../lib/model/values/delivery-encryption';
import { DEFAULT_ALGORITHM, verificationKeyFamily } from '../lib/model/key-families';
import { Duration } from '../lib/model/values/duration';
import { KeyRestriction, VerificationKey } from '../lib/model/values/key-restriction';
import { constructName } from './private/naming';
import { accountOf, AccountScope } from './private/scopes';

/** Props of a KeyPolicy. */
export interface KeyPolicyProps {
  /** Policy name (DNS label). @default - the construct id */
  readonly name?: string;
  /** Who may fetch content keys. @default KeyRestriction.open() */
  readonly restriction?: KeyRestriction;
  /**
   * The content keys' type. Every protection a delivery policy offers encrypts with a 128-bit AES key:
   * envelope (AES-128-CBC, key fetched from the key service's key URL), `cenc` (AES-CTR) and `cbcs`
   * (AES-CBC with a pattern), whose keys go out in ClearKey licenses. The delivery policy, not this,
   * decides how a key is used and delivered; one key policy serves all three.
   * @default 'aes-128'
   */
  readonly keyType?: 'aes-128';
}

/** Content key authorization (AMS content key policy): open, JWT token, or IP allow list. */
export class KeyPolicy extends Construct implements IKeyPolicy {
  readonly policyName: string;
  readonly accountPath: string;
  private readonly accountName: string;
  private readonly restriction: KeyRestrictionManifest;

  constructor(account: AccountScope, id: string, props: KeyPolicyProps = {}) {
    super(account, id);
    const resolved = validateProps(keyPolicyProps, props, this.node.path);
    const owner = accountOf(this);
    this.accountPath = owner.node.path;
    this.policyName = constructName(this, resolved.name);
    this.accountName = owner.accountName;
    this.restriction = this.toRestriction(resolved.restriction ?? KeyRestriction.open());
  }

  toManifest(): KeyPolicyManifest {
    return { name: this.policyName, path: this.node.path, keyType: 'aes-128', restriction: this.restriction };
  }

  private toRestriction(restriction: KeyRestriction): KeyRestrictionManifest {
    const spec = restriction.spec;
    switch (spec.type) {
      case 'open':
        return { type: 'open' };
      case 'ip': {
        const parsed = ipAllowList.safeParse(spec.allowList);
        if (!parsed.success) throw new LivestackValidationError(zodIssues(parsed.error, spec.allowList, this.node.path).map((i) => ({ ...i, field: `restriction.allowList.${i.field}`.replace(/\.\(props\)$/, '') })));
        return { type: 'ip', allowList: parsed.data };
      }
      case 'token':
        return this.toTokenRestriction(spec.options);
    }
  }

  private toTokenRestriction(options: unknown): KeyRestrictionManifest {
    const parsed = tokenRestrictionOptions.safeParse(options);
    if (!parsed.success) {
      throw new LivestackValidationError(zodIssues(parsed.error, options, this.node.path).map((i) => ({ ...i, field: `restriction.${i.field}` })));
    }
    const o = parsed.data;
    const keys = (o.keys as VerificationKey[] | undefined) ?? [VerificationKey.symmetric()];
    const issues = keys.flatMap((key, index) => this.keyProblems(key, index));
    if (issues.length) throw new LivestackValidationError(issues);
    const manifestKeys = keys.map((key, index) => this.keyManifest(key, index));
    // Pinned by the user, else one per key family; whether keys and algorithms match is a rule (keys-match-algorithms).
    const derived = [...new Set(manifestKeys.map(verificationKeyFamily).flatMap((f) => (f && f !== 'any' ? [DEFAULT_ALGORITHM[f]] : [])))];
    const algorithms = o.algorithms ?? derived;
    const unknown = algorithms.flatMap((algorithm, index) => (jwtAlgorithm.safeParse(algorithm).success ? [] : [{
      path: this.node.path, field: `restriction.algorithms.${index}`, received: JSON.stringify(algorithm), allowed: `one of ${jwtAlgorithm.options.join(', ')}`,
    }]));
    if (algorithms.length === 0) {
      unknown.push({ path: this.node.path, field: 'restriction.algorithms', received: 'none given, and none can be derived from the keys', allowed: 'pinned algorithms, e.g. ["RS256"]' });
    }
    if (unknown.length) throw new LivestackValidationError(unknown);
    return {
      type: 'token',
      issuer: o.issuer,
      audience: o.audience,
      algorithms: algorithms.map((a) => jwtAlgorithm.parse(a)),
      keys: manifestKeys,
      requiredClaims: o.requiredClaims ?? {},
      clockSkewSeconds: Math.round((o.clockSkew ?? Duration.seconds(30)).toSeconds()),
      requireExp: o.requireExpiry ?? true,
      maxLifetimeSeconds: Math.round(o.maxLifetime?.toSeconds() ?? TOKEN_LIFETIME_SECONDS.default),
    };
  }

  /** What is wrong with one verification key on its own (a problem of the prop, found at construction). */
  private keyProblems(key: VerificationKey, index: number): ValidationIssue[] {
    const field = `restriction.keys.${index}`;
    const spec = key.spec;
    switch (spec.kind) {
      case 'symmetric': {
        const problem = spec.secret.problem(this, 'jwt-key');
        return problem ? [{ path: this.node.path, field: `${field}.secret`, ...problem }] : [];
      }
      case 'publicKeyPem':
        return publicKeyPemProblems(spec.pem).map((problem) => ({ path: this.node.path, field: `${field}.pem`, ...problem }));
      case 'jwks': {
        const keys: unknown[] = Array.isArray(spec.jwks?.keys) ? spec.jwks.keys : [];
        if (keys.length === 0) {
          return [{ path: this.node.path, field: `${field}.jwks`, received: 'a key set without keys', allowed: 'a JWKS with at least one public key ({ keys: [{ kty: "RSA", n, e }] })' }];
        }
        return keys.flatMap((jwk, k) => publicJwkProblems(jwk).map((problem) => ({ path: this.node.path, field: `${field}.jwks.keys.${k}`, ...problem })));
      }
      case 'jwksUrl':
        return isHttpUrl(spec.url, true) ? [] : [{
          path: this.node.path, field: `${field}.url`, received: renderValue(spec.url),
          allowed: 'an absolute http(s) URL of a JWKS without credentials, spaces or fragment, e.g. https://idp.example.com/.well-known/jwks.json',
        }];
    }
  }

  private keyManifest(key: VerificationKey, index: number): VerificationKeyManifest {
    const spec = key.spec;
    switch (spec.kind) {
      case 'symmetric':
        return { kind: 'symmetric', kid: spec.kid, secret: spec.secret.toRef(this, `${this.accountName}-${this.policyName}-jwt-key-${index}`) };
      case 'publicKeyPem':
        return { kind: 'publicKeyPem', kid: spec.kid, pem: createPublicKey(spec.pem).export({ type: 'spki', format: 'pem' }).toString() };
      case 'jwks':
        // Only public members reach the manifest, whatever else a key carried (checked above: no private ones).
        return { kind: 'jwks', jwks: { keys: spec.jwks.keys.map(publicJwkMembers) } };
      case 'jwksUrl':
        return { kind: 'jwksUrl', url: spec.url };
    }
  }
}
