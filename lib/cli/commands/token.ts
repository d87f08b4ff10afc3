/**
 * `livestack token`: a signed test JWT for a token key policy of an app, for demos and tests. The
 * verification secret comes from where the key service gets it (TF_VAR_*, or the generated secret in
 * the account storage) and is never printed; only the token goes to stdout.
 */
import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { SignJWT } from 'jose';
import { AccountManifest, JwtAlgorithm, KeyPolicyManifest, Manifest } from '../../model/manifest';
import { resolveSecret } from '../../dataplane/secrets';
import { storagePaths } from '../../contract/storage-layout';
import { localPaths } from '../../runtime/drivers/local-records';
import { TerminalError } from '../../runtime/errors';
import { secretEnvName } from '../../contract/workload-env';
import { RuntimeOptions, addRuntimeOptions, loadDesired, out } from './runtime-options';

interface TokenOptions extends RuntimeOptions {
  readonly account?: string;
  readonly policy?: string;
  readonly ttl: string;
  readonly claim: string[];
  readonly storageDir?: string;
  readonly privateKey?: string;
  readonly alg?: string;
  readonly kid?: string;
}

type TokenRestriction = Extract<KeyPolicyManifest['restriction'], { type: 'token' }>;

/** `livestack token`: print a JWT that satisfies a token key policy, for demos and tests. */
export function register(program: Command): void {
  addRuntimeOptions(
    program
      .command('token')
      .description('Print a valid test JWT for a token key policy: its issuer and audience, its required claims, signed with its secret (or --private-key).')
      .option('--account <name>', 'account of the key policy (default: the only account)')
      .option('--policy <name>', 'token key policy (default: the only token policy of the account)')
      .option('--ttl <seconds>', 'lifetime of the token', '3600')
      .option('--claim <name=value>', 'add or override a claim (value parsed as JSON when it can be); repeatable', (v: string, all: string[]) => [...all, v], [])
      .option('--storage-dir <dir>', 'account storage holding generated secrets (default: <state-dir>/accounts/<account>/storage)')
      .option('--private-key <file>', 'PEM private key, for policies verified by public keys or a JWKS')
      .option('--alg <algorithm>', 'signing algorithm (default: the policy\'s first one that fits the key)')
      .option('--kid <kid>', 'key id to put in the header (default: the matching key\'s kid, if any)'),
    { driver: false },
  ).action(async (options: TokenOptions) => {
    const desired = await loadDesired(options);
    const account = pickAccount(desired.manifest, options.account);
    const policy = pickPolicy(account, options.policy);
    const restriction = policy.restriction as TokenRestriction;
    const ttl = Number(options.ttl);
    if (!Number.isInteger(ttl) || ttl <= 0) throw new TerminalError('--ttl', `expected a positive number of seconds, got ${JSON.stringify(options.ttl)}`);
    // A token the key service would refuse is no test token: stay within the policy's maximum lifetime.
    if (ttl > restriction.maxLifetimeSeconds) {
      throw new TerminalError('--ttl', `${ttl} s is longer than key policy ${policy.name} allows (maxLifetime ${restriction.maxLifetimeSeconds} s)`);
    }
    const signer = options.privateKey
      ? asymmetricSigner(restriction, policy.name, options)
      : symmetricSigner(restriction, policy.name, options.storageDir ?? localPaths.storageDir(path.resolve(options.stateDir), account.name), options);
    const claims: Record<string, unknown> = { sub: 'livestack-test-viewer' };
    for (const [name, value] of Object.entries(restriction.requiredClaims)) claims[name] = value ?? true;
    for (const pair of options.claim) {
      const at = pair.indexOf('=');
      if (at <= 0) throw new TerminalError('--claim', `expected name=value, got ${JSON.stringify(pair)}`);
      claims[pair.slice(0, at)] = parseClaimValue(pair.slice(at + 1));
    }
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: signer.alg, typ: 'JWT', ...(signer.kid ? { kid: signer.kid } : {}) })
      .setIssuer(restriction.issuer)
      .setAudience(restriction.audience)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .sign(signer.key);
    out(token);
  });
}

interface Signer {
  readonly alg: JwtAlgorithm;
  readonly key: Uint8Array | KeyObject;
  readonly kid?: string;
}

function pickAccount(manifest: Manifest, name: string | undefined): AccountManifest {
  const names = manifest.accounts.map((a) => a.name);
  if (name) {
    const found = manifest.accounts.find((a) => a.name === name);
    if (!found) throw new TerminalError('--account', `no account ${name} (accounts: ${names.join(', ') || 'none'})`);
    return found;
  }
  if (manifest.accounts.length !== 1) throw new TerminalError('--account', `the app has ${names.length} accounts (${names.join(', ')}); name one`);
  return manifest.accounts[0];
}

function pickPolicy(account: AccountManifest, name: string | undefined): KeyPolicyManifest {
  const tokenPolicies = account.keyPolicies.filter((p) => p.restriction.type === 'token');
  if (name) {
    const found = account.keyPolicies.find((p) => p.name === name);
    if (!found) throw new TerminalError('--policy', `account ${account.name} has no key policy ${name} (token policies: ${tokenPolicies.map((p) => p.name).join(', ') || 'none'})`);
    if (found.restriction.type !== 'token') throw new TerminalError('--policy', `key policy ${name} is ${found.restriction.type}, not token: it needs no token`);
    return found;
  }
  if (tokenPolicies.length === 0) {
    throw new TerminalError('--policy', `account ${account.name} has no token key policy: none of its content keys needs a token`);
  }
  if (tokenPolicies.length !== 1) {
    throw new TerminalError('--policy', `account ${account.name} has ${tokenPolicies.length} token key policies (${tokenPolicies.map((p) => p.name).join(', ') || 'none'}); name one`);
  }
  return tokenPolicies[0];
}

function symmetricSigner(restriction: TokenRestriction, policy: string, storageDir: string, options: TokenOptions): Signer {
  const alg = (options.alg ?? restriction.algorithms.find((a) => a.startsWith('HS'))) as JwtAlgorithm | undefined;
  const key = restriction.keys.find((k) => k.kind === 'symmetric' && (!options.kid || k.kid === options.kid));
  if (!alg || !alg.startsWith('HS') || !key || key.kind !== 'symmetric') {
    throw new TerminalError(`key policy ${policy}`, 'has no symmetric key and HS algorithm to sign with; give --private-key <pem> for its public-key algorithms');
  }
  const secret = key.secret;
  const env: NodeJS.ProcessEnv = {};
  if (secret.kind === 'variable') {
    const value = process.env[`TF_VAR_${secret.name}`];
    if (!value) throw new TerminalError(`key policy ${policy}`, `verifies with Terraform variable ${secret.name}: set TF_VAR_${secret.name}`);
    env[secretEnvName(secret.id)] = value;
  } else if (secret.kind === 'generated' && !fs.existsSync(storagePaths.secret(storageDir, secret.id))) {
    throw new TerminalError(`key policy ${policy}`, `its generated secret ${secret.id} is not in ${storageDir} yet (it appears once the key service has run; or give --storage-dir)`);
  }
  return { alg, key: new TextEncoder().encode(resolveSecret(secret, storageDir, env)), kid: options.kid ?? key.kid };
}

function asymmetricSigner(restriction: TokenRestriction, policy: string, options: TokenOptions): Signer {
  let key: KeyObject;
  try {
    key = createPrivateKey(fs.readFileSync(options.privateKey!, 'utf8'));
  } catch (error) {
    throw new TerminalError('--private-key', `cannot read a PEM private key from ${options.privateKey}: ${(error as Error).message}`);
  }
  const fits: Record<string, RegExp> = { rsa: /^(RS|PS)/, 'rsa-pss': /^PS/, ec: /^ES/, ed25519: /^EdDSA$/, ed448: /^EdDSA$/ };
  const pattern = fits[key.asymmetricKeyType ?? ''];
  const alg = (options.alg ?? restriction.algorithms.find((a) => pattern?.test(a))) as JwtAlgorithm | undefined;
  if (!alg || !restriction.algorithms.includes(alg)) {
    throw new TerminalError(`key policy ${policy}`, `allows ${restriction.algorithms.join(', ')}; none fits a ${key.asymmetricKeyType} private key`);
  }
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const matching = restriction.keys.find((k) => k.kind === 'publicKeyPem' && createPublicKey(k.pem).export({ type: 'spki', format: 'der' }).equals(spki));
  return { alg, key, kid: options.kid ?? (matching?.kind === 'publicKeyPem' ? matching.kid : undefined) };
}

function parseClaimValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
