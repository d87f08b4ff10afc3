import { createPublicKey } from 'node:crypto';
import { Construct } from 'constructs';
import { LivestackValidationError, ValidationIssue } from '../lib/model/errors';
import { JwtAlgorithm, jwtAlgorithm, KeyPolicyManifest, KeyRestriction as KeyRestrictionManifest, VerificationKey as VerificationKeyManifest } from '../lib/model/manifest';
import { ipAllowList, keyPolicyProps, tokenRestrictionOptions } from '../lib/model/props';
import { validateProps, zodIssues } from '../lib/model/validate';
import { IKeyPolicy } from '../lib/model/values/delivery-encryption';
import { ALGORITHM_FAMILY as FAMILY, DEFAULT_ALGORITHM, jwkFamily, KeyFamily, pemKeyFamily } from '../lib/model/key-families';
import { Duration } from '../lib/model/values/duration';
import { KeyRestriction, VerificationKey } from '../lib/model/values/key-restriction';
import { MediaAccount } from './media-account';
import { constructName } from './private/naming';

/** Props of a KeyPolicy. */
export interface KeyPolicyProps {
  /** Policy name (DNS label). @default - the construct id */
  readonly name?: string;
  /** Who may fetch content keys. @default KeyRestriction.open() */
  readonly restriction?: KeyRestriction;
  /** Key delivery type. @default 'aes-128' (HLS envelope) */
  readonly keyType?: 'aes-128';
}

/** Content key authorization (AMS content key policy): open, JWT token, or IP allow list. */
export class KeyPolicy extends Construct implements IKeyPolicy {
  readonly policyName: string;
  readonly accountPath: string;
  private readonly restriction: KeyRestrictionManifest;

  constructor(account: MediaAccount, id: string, props: KeyPolicyProps = {}) {
    super(account, id);
    const resolved = validateProps(keyPolicyProps, props, this.node.path);
    const owner = MediaAccount.of(this);
    this.accountPath = owner.node.path;
    this.policyName = constructName(this, resolved.name);
    this.restriction = this.toRestriction(resolved.restriction ?? KeyRestriction.open());
    owner._register('key policy', this);
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
    const issues: ValidationIssue[] = [];
    const families = keys.map((key, index) => this.keyFamily(key, index, issues));
    const algorithms = (o.algorithms ?? [...new Set(families.filter((f): f is KeyFamily => !!f && f !== 'any').map((f) => DEFAULT_ALGORITHM[f]))]) as string[];
    algorithms.forEach((algorithm, index) => {
      if (!jwtAlgorithm.safeParse(algorithm).success) {
        issues.push({ path: this.node.path, field: `restriction.algorithms.${index}`, received: JSON.stringify(algorithm), allowed: `one of ${jwtAlgorithm.options.join(', ')}` });
      }
    });
    const known = algorithms.filter((a): a is JwtAlgorithm => jwtAlgorithm.safeParse(a).success);
    families.forEach((family, index) => {
      if (family && family !== 'any' && !known.some((a) => FAMILY[a] === family)) {
        issues.push({
          path: this.node.path, field: `restriction.keys.${index}`, received: `a ${family} key`,
          allowed: `a key for the pinned algorithms ${JSON.stringify(known)} (a key of another family invites algorithm confusion)`,
        });
      }
    });
    known.forEach((algorithm) => {
      if (!families.some((f) => f === 'any' || f === FAMILY[algorithm])) {
        issues.push({
          path: this.node.path, field: 'restriction.algorithms', received: JSON.stringify(algorithm),
          allowed: `algorithms that one of the keys can verify (${algorithm} needs a ${FAMILY[algorithm]} key)`,
        });
      }
    });
    if (algorithms.length === 0) {
      issues.push({ path: this.node.path, field: 'restriction.algorithms', received: 'none given, and none can be derived from the keys', allowed: 'pinned algorithms, e.g. ["RS256"]' });
    }
    if (issues.length) throw new LivestackValidationError(issues);
    return {
      type: 'token',
      issuer: o.issuer,
      audience: o.audience,
      algorithms: known,
      keys: keys.map((key, index) => this.keyManifest(key, index)),
      requiredClaims: o.requiredClaims ?? {},
      clockSkewSeconds: Math.round((o.clockSkew ?? Duration.seconds(30)).toSeconds()),
    };
  }

  /** The key's family, 'any' when it cannot be known at synth (a JWKS URL), undefined when invalid (issue recorded). */
  private keyFamily(key: VerificationKey, index: number, issues: ValidationIssue[]): KeyFamily | 'any' | undefined {
    const field = `restriction.keys.${index}`;
    const spec = key.spec;
    switch (spec.kind) {
      case 'symmetric': {
        const problem = spec.secret.problem(this, 'jwt-key');
        if (problem) { issues.push({ path: this.node.path, field: `${field}.secret`, ...problem }); return undefined; }
        return 'oct';
      }
      case 'publicKeyPem': {
        try {
          return pemKeyFamily(spec.pem);
        } catch (error) {
          issues.push({ path: this.node.path, field: `${field}.pem`, received: `text that is not a public key (${(error as Error).message})`, allowed: 'an RSA, EC or Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)' });
          return undefined;
        }
      }
      case 'jwks': {
        const family = spec.jwks.keys[0] ? jwkFamily(spec.jwks.keys[0]) : undefined;
        if (!family) {
          issues.push({ path: this.node.path, field: `${field}.jwks`, received: 'a key set without keys (or keys without kty)', allowed: 'a JWKS with at least one key' });
        }
        return family;
      }
      case 'jwksUrl':
        if (!/^https?:\/\//.test(spec.url)) {
          issues.push({ path: this.node.path, field: `${field}.url`, received: JSON.stringify(spec.url), allowed: 'an http(s) URL of a JWKS' });
          return undefined;
        }
        return 'any';
    }
  }

  private keyManifest(key: VerificationKey, index: number): VerificationKeyManifest {
    const spec = key.spec;
    switch (spec.kind) {
      case 'symmetric':
        return { kind: 'symmetric', kid: spec.kid, secret: spec.secret.toRef(this, `${MediaAccount.of(this).accountName}-${this.policyName}-jwt-key-${index}`) };
      case 'publicKeyPem':
        return { kind: 'publicKeyPem', kid: spec.kid, pem: createPublicKey(spec.pem).export({ type: 'spki', format: 'pem' }).toString() };
      case 'jwks':
        return { kind: 'jwks', jwks: { keys: spec.jwks.keys.map((k) => ({ ...k })) } };
      case 'jwksUrl':
        return { kind: 'jwksUrl', url: spec.url };
    }
  }
}
