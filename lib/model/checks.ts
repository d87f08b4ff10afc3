/**
 * Checks that need more than one construct: the whole manifest. Constructs run them late (after every
 * add*() call); the runtime runs them on every manifest it loads. Rules as data: each returns issues.
 */
import { ValidationIssue } from './errors';
import { ALGORITHM_FAMILY, verificationKeyFamily } from './key-families';
import { AccountManifest, Manifest } from './manifest';

/**
 * AMS: up to 3 running live outputs per live event. Programs declared running count, whatever their
 * schedule: a program waiting for its start or past its end still counts until it is declared stopped.
 */
export const MAX_RUNNING_PROGRAMS_PER_CHANNEL = 3;

export function checkManifest(manifest: Manifest): ValidationIssue[] {
  return [...checkPorts(manifest), ...manifest.accounts.flatMap(checkAccount)];
}

function checkAccount(account: AccountManifest): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const issue = (path: string, field: string, received: string, allowed: string) => issues.push({ path, field, received, allowed });

  if (account.channels.length > account.limits.maxChannels) {
    issue(account.path, 'channels', `${account.channels.length} channels`, `at most limits.maxChannels = ${account.limits.maxChannels}`);
  }
  for (const [kind, items] of [
    ['endpoint', account.endpoints], ['channel', account.channels], ['key policy', account.keyPolicies],
    ['delivery policy', account.deliveryPolicies], ['locator', account.locators],
  ] as const) {
    unique(items as readonly { name: string; path: string }[], (i) => i.name, kind, 'name', issue);
  }
  unique(account.channels.flatMap((c) => c.programs), (p) => p.assetName, 'asset', 'assetName', issue);
  unique(account.locators, (l) => l.id, 'locator id', 'id', issue);

  for (const channel of account.channels) {
    const running = channel.programs.filter((p) => p.state === 'running');
    if (running.length > MAX_RUNNING_PROGRAMS_PER_CHANNEL) {
      issue(channel.path, 'programs', `${running.length} running programs (${running.map((p) => p.name).join(', ')})`, `at most ${MAX_RUNNING_PROGRAMS_PER_CHANNEL} running programs per channel`);
    }
    unique(channel.programs, (p) => p.name, 'program', 'name', issue);
    for (const program of channel.programs) {
      if (program.start && program.end && Date.parse(program.end) <= Date.parse(program.start)) {
        issue(program.path, 'end', program.end, `a time after start (${program.start})`);
      }
    }
    const multiple = channel.segmentDurationSeconds / channel.keyFrameIntervalSeconds;
    if (Math.abs(multiple - Math.round(multiple)) > 1e-6 || multiple < 1) {
      issue(channel.path, 'segmentDuration', `${channel.segmentDurationSeconds}s`, `a whole multiple of the key frame interval (${channel.keyFrameIntervalSeconds}s)`);
    }
  }
  for (const policy of account.deliveryPolicies) {
    if (policy.encryption.type !== 'envelope') continue;
    const keyPolicyName = policy.encryption.keyPolicy;
    if (!account.keyPolicies.some((k) => k.name === keyPolicyName)) {
      issue(policy.path, 'encryption.keyPolicy', JSON.stringify(keyPolicyName), `a key policy of account ${account.name} (${account.keyPolicies.map((k) => k.name).join(', ') || 'none declared'})`);
    }
    if (policy.protocols.includes('dash')) {
      issue(policy.path, 'protocols', JSON.stringify(policy.protocols), 'only ["hls"] with envelope encryption (never silently downgraded to clear DASH)');
    }
  }
  for (const policy of account.keyPolicies) {
    const r = policy.restriction;
    if (r.type !== 'token') continue;
    const families = r.keys.map(verificationKeyFamily);
    families.forEach((family, index) => {
      if (family === undefined) issue(policy.path, `restriction.keys.${index}`, 'a key whose type cannot be read', 'a symmetric secret, an RSA/EC/Ed25519 public key in PEM, or a JWKS');
      else if (family !== 'any' && !r.algorithms.some((a) => ALGORITHM_FAMILY[a] === family)) {
        issue(policy.path, `restriction.keys.${index}`, `a ${family} key`, `a key for the pinned algorithms ${JSON.stringify(r.algorithms)}`);
      }
    });
    for (const algorithm of r.algorithms) {
      if (!families.some((f) => f === 'any' || f === ALGORITHM_FAMILY[algorithm])) {
        issue(policy.path, 'restriction.algorithms', JSON.stringify(algorithm), `algorithms one of the keys can verify (${algorithm} needs a ${ALGORITHM_FAMILY[algorithm]} key)`);
      }
    }
  }
  for (const locator of account.locators) {
    const channel = account.channels.find((c) => c.name === locator.channel);
    if (!channel?.programs.some((p) => p.name === locator.program)) {
      issue(locator.path, 'program', `${locator.channel}/${locator.program}`, `a program of a channel in account ${account.name}`);
    }
    if (!account.endpoints.some((e) => e.name === locator.endpoint)) {
      issue(locator.path, 'endpoint', JSON.stringify(locator.endpoint), `a streaming endpoint of account ${account.name}`);
    }
    if (!account.deliveryPolicies.some((d) => d.name === locator.deliveryPolicy)) {
      issue(locator.path, 'deliveryPolicy', JSON.stringify(locator.deliveryPolicy), `a delivery policy of account ${account.name}`);
    }
    if (locator.start && locator.end && Date.parse(locator.end) <= Date.parse(locator.start)) {
      issue(locator.path, 'end', locator.end, `a time after start (${locator.start})`);
    }
  }
  return issues;
}

/** Published ports must not collide on one address (0.0.0.0 collides with every address). */
function checkPorts(manifest: Manifest): ValidationIssue[] {
  const seen = new Map<number, { address: string; path: string; what: string }[]>();
  const issues: ValidationIssue[] = [];
  const claim = (address: string, port: number, path: string, what: string) => {
    const holders = seen.get(port) ?? [];
    const clash = holders.find((h) => h.address === address || h.address === '0.0.0.0' || address === '0.0.0.0');
    if (clash) {
      issues.push({ path, field: what === 'key delivery' ? 'keyDelivery.port' : 'port', received: `${port} (${what})`, allowed: `a port not already used on ${address}: ${clash.path} (${clash.what}) uses ${port}` });
    }
    holders.push({ address, path, what });
    seen.set(port, holders);
  };
  for (const account of manifest.accounts) {
    claim(account.bindAddress, account.keyDelivery.port, account.path, 'key delivery');
    for (const endpoint of account.endpoints) claim(account.bindAddress, endpoint.port, endpoint.path, 'streaming endpoint');
    for (const channel of account.channels) claim(account.bindAddress, channel.port, channel.path, 'channel ingest');
  }
  return issues;
}

function unique<T extends { path: string }>(
  items: readonly T[], key: (item: T) => string, kind: string, field: string,
  issue: (path: string, field: string, received: string, allowed: string) => void,
): void {
  const seen = new Map<string, string>();
  for (const item of items) {
    const value = key(item);
    const first = seen.get(value);
    if (first !== undefined) issue(item.path, field, JSON.stringify(value), `a ${kind} ${field} not already used (taken by ${first})`);
    else seen.set(value, item.path);
  }
}
