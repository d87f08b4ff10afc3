/**
 * Every rule that needs more than one prop, more than one construct or the whole app, written once as
 * data: an id, what it protects, and a check over the desired-state manifest. Constructs run them late
 * (node.addValidation, after every add*() call, so no result depends on declaration order); every
 * manifest read from disk or from another process runs them again (loadManifest). Each issue names
 * the construct path, the field, what was received and what is allowed.
 */
import { ValidationIssue } from './errors';
import { ALGORITHM_FAMILY, verificationKeyFamily } from './key-families';
import { LOW_LATENCY, latencyIssues } from './latency';
import { AccountManifest, ChannelManifest, LocatorManifest, Manifest, ProgramManifest } from './manifest';

/** AMS: up to 3 running live outputs per live event; programs declared running count, whatever their schedule. */
export const MAX_RUNNING_PROGRAMS = 3;

/** A rule over one account (runs on each account) or over the whole manifest (cross-account). */
export type Rule =
  | { readonly id: string; readonly scope: 'account'; readonly description: string; readonly check: (account: AccountManifest) => ValidationIssue[] }
  | { readonly id: string; readonly scope: 'manifest'; readonly description: string; readonly check: (manifest: Manifest) => ValidationIssue[] };

const issue = (path: string, field: string, received: string, allowed: string): ValidationIssue => ({ path, field, received, allowed });

export const RULES: readonly Rule[] = [
  {
    id: 'max-channels',
    scope: 'account',
    description: 'An account holds at most limits.maxChannels channels (5 by default, as AMS).',
    check: (account) => account.channels.slice(account.limits.maxChannels).map((channel, index) => issue(
      channel.path, 'channels', `channel number ${account.limits.maxChannels + index + 1}`,
      `at most ${account.limits.maxChannels} channels in account ${account.name} (raise limits.maxChannels)`,
    )),
  },
  {
    id: 'unique-names',
    scope: 'account',
    description: 'Endpoint, channel, key policy, delivery policy, locator and asset names, and locator ids, are unique in an account; program names in a channel.',
    check: (account) => [
      ...unique(account.endpoints, (e) => e.name, 'endpoint name', 'name'),
      ...unique(account.channels, (c) => c.name, 'channel name', 'name'),
      ...unique(account.keyPolicies, (k) => k.name, 'key policy name', 'name'),
      ...unique(account.deliveryPolicies, (d) => d.name, 'delivery policy name', 'name'),
      ...unique(account.locators, (l) => l.name, 'locator name', 'name'),
      ...unique(account.locators.filter((l) => l.id !== undefined), (l) => l.id!, 'locator id', 'locatorId'),
      ...unique(account.channels.flatMap((c) => c.programs), (p) => p.assetName, 'asset name', 'assetName'),
      ...account.channels.flatMap((c) => unique(c.programs, (p) => p.name, `program name in channel ${c.name}`, 'name')),
    ],
  },
  {
    id: 'running-programs',
    scope: 'account',
    description: `At most ${MAX_RUNNING_PROGRAMS} running programs per channel.`,
    check: (account) => account.channels.flatMap((channel) => channel.programs
      .filter((p) => p.state === 'running')
      .slice(MAX_RUNNING_PROGRAMS)
      .map((program, index) => issue(
        program.path, 'state', `"running" (program number ${MAX_RUNNING_PROGRAMS + index + 1} running on channel ${channel.name})`,
        `at most ${MAX_RUNNING_PROGRAMS} running programs per channel; declare the others with state: 'stopped'`,
      ))),
  },
  {
    id: 'segments-on-key-frames',
    scope: 'account',
    description: 'A segment duration is a whole multiple of the key frame interval, so every segment starts on a key frame.',
    check: (account) => account.channels.flatMap((channel) => (segmentsOnKeyFrames(channel) ? [] : [issue(
      channel.path, 'segmentDuration', `${channel.segmentDurationSeconds}s`,
      `a whole multiple of the key frame interval (${channel.keyFrameIntervalSeconds}s), so every segment starts on a key frame`,
    )])),
  },
  {
    id: 'low-latency-segments',
    scope: 'account',
    description: `A low-latency channel's segments last at most ${LOW_LATENCY.maxSegmentDurationSeconds} s: blocking playlist requests are held up to three of them.`,
    check: (account) => account.channels.flatMap(latencyIssues),
  },
  {
    id: 'end-after-start',
    scope: 'account',
    description: 'A program or locator that has both a start and an end ends after it starts.',
    check: (account) => [...account.channels.flatMap((c) => c.programs), ...account.locators].flatMap(endAfterStart),
  },
  {
    id: 'references',
    scope: 'account',
    description: 'Locators name a program, an endpoint and a delivery policy of their account; protected (envelope, cenc, cbcs) policies a key policy of it.',
    check: (account) => [...account.locators.flatMap((l) => locatorReferences(account, l)), ...account.deliveryPolicies.flatMap((policy) => {
      if (policy.encryption.type === 'none') return [];
      const name = policy.encryption.keyPolicy;
      return account.keyPolicies.some((k) => k.name === name) ? [] : [issue(
        policy.path, 'encryption.keyPolicy', JSON.stringify(name),
        `a key policy of account ${account.name} (${account.keyPolicies.map((k) => k.name).join(', ') || 'none declared'})`,
      )];
    })],
  },
  {
    id: 'envelope-is-hls',
    scope: 'account',
    description: 'AES-128 envelope encryption is an HLS method: a policy with envelope encryption serves HLS only, never DASH in clear.',
    check: (account) => account.deliveryPolicies.flatMap((policy) => (policy.encryption.type === 'envelope' && policy.protocols.includes('dash') ? [issue(
      policy.path, 'protocols', JSON.stringify(policy.protocols),
      'only ["hls"] with envelope encryption: AES-128 envelope is an HLS method, and livestack does not silently serve DASH in clear',
    )] : [])),
  },
  {
    id: 'cenc-is-dash',
    scope: 'account',
    description: 'The cenc scheme (AES-CTR) is served over DASH only: HLS players (Apple\'s, hls.js) decrypt SAMPLE-AES, which is cbcs.',
    check: (account) => account.deliveryPolicies.flatMap((policy) => (policy.encryption.type === 'cenc' && policy.protocols.includes('hls') ? [issue(
      policy.path, 'protocols', JSON.stringify(policy.protocols),
      'only ["dash"] with cenc: HLS carries common encryption as SAMPLE-AES, the cbcs scheme (Apple devices and hls.js cannot decrypt cenc); use DeliveryEncryption.cbcs(keyPolicy) to serve HLS and DASH with one key',
    )] : [])),
  },
  {
    id: 'common-encryption-standard-latency',
    scope: 'account',
    description: 'Common encryption (cenc, cbcs) is packaged per segment: a protected locator serves a standard-latency channel, not LL-HLS parts.',
    check: (account) => account.locators.flatMap((locator) => {
      const encryption = account.deliveryPolicies.find((d) => d.name === locator.deliveryPolicy)?.encryption.type;
      const channel = account.channels.find((c) => c.name === locator.channel);
      return (encryption === 'cenc' || encryption === 'cbcs') && channel?.latency === 'low' ? [issue(
        locator.path, 'deliveryPolicy', `${JSON.stringify(locator.deliveryPolicy)} (${encryption}) on channel ${channel.name} with latency "low"`,
        'a clear or envelope delivery policy on a low-latency channel (the origin protects whole segments; LL-HLS parts would go out unprotected, so they are not offered), or latency "standard"',
      )] : [];
    }),
  },
  {
    id: 'keys-match-algorithms',
    scope: 'account',
    description: 'Every verification key of a token policy is of a family its pinned algorithms use, and every pinned algorithm has a key (RFC 8725: no algorithm confusion).',
    check: (account) => tokenPolicies(account).flatMap(({ policy, restriction: r }) => {
      const families = r.keys.map(verificationKeyFamily);
      return [
        ...families.flatMap((family, index) => {
          if (family === undefined) {
            return [issue(policy.path, `restriction.keys.${index}`, 'a key whose type cannot be read', 'a symmetric secret, an RSA/EC/Ed25519 public key in PEM, or a JWKS')];
          }
          if (family !== 'any' && !r.algorithms.some((a) => ALGORITHM_FAMILY[a] === family)) {
            return [issue(policy.path, `restriction.keys.${index}`, `a ${family} key`, `a key for the pinned algorithms ${JSON.stringify(r.algorithms)} (a key of another family invites algorithm confusion)`)];
          }
          return [];
        }),
        ...r.algorithms.filter((algorithm) => !families.some((f) => f === 'any' || f === ALGORITHM_FAMILY[algorithm])).map((algorithm) => issue(
          policy.path, 'restriction.algorithms', JSON.stringify(algorithm),
          `algorithms that one of the keys can verify (${algorithm} needs a ${ALGORITHM_FAMILY[algorithm]} key)`,
        )),
      ];
    }),
  },
  {
    id: 'kubernetes-pullable-image',
    scope: 'account',
    description: 'On Kubernetes the runtime image is pulled from a registry: a cluster cannot build livestack\'s Dockerfile.',
    check: (account) => (account.platform?.kind === 'kubernetes' && account.imageBuild ? [issue(
      account.path, 'runtimeImage', `RuntimeImage.build() (${account.image}, built on a Docker host)`,
      'RuntimeImage.fromName("<registry>/<repository>:<tag>") of an image the cluster can pull (docker build -f images/Dockerfile, then push it; on kind: kind load docker-image)',
    )] : []),
  },
  {
    id: 'swarm-pullable-image',
    scope: 'account',
    description: 'On a swarm every node runs the runtime image from its own engine: a manager cannot build livestack\'s Dockerfile for the other nodes.',
    check: (account) => (account.platform?.kind === 'swarm' && account.imageBuild ? [issue(
      account.path, 'runtimeImage', `RuntimeImage.build() (${account.image}, built on one Docker host)`,
      'RuntimeImage.fromName("<registry>/<repository>:<tag>") of an image every node can pull or already has (docker build -f images/Dockerfile, then push it, or docker save | docker load on each node)',
    )] : []),
  },
  {
    id: 'shared-storage-engine',
    scope: 'account',
    description: 'Shared storage is a host path every Docker host mounts; on Kubernetes the ReadWriteMany claim is the shared storage.',
    check: (account) => (account.platform?.kind === 'kubernetes' && account.storage.shared ? [issue(
      account.path, 'storage.shared', JSON.stringify(account.storage.shared.hostPath),
      'no shared host path on Kubernetes: the account storage is a ReadWriteMany PersistentVolumeClaim (platform.storage.storageClassName picks NFS, EFS, CephFS...)',
    )] : []),
  },
  {
    id: 'kubernetes-service-names',
    scope: 'account',
    description: 'Per-name Service settings on Kubernetes name an endpoint or a channel of the account.',
    check: (account) => {
      if (account.platform?.kind !== 'kubernetes') return [];
      const { services } = account.platform;
      const unknown = (names: string[], known: string[], field: string, what: string) => names.filter((n) => !known.includes(n)).map((n) => issue(
        account.path, `platform.services.${field}.${n}`, JSON.stringify(n), `the name of a ${what} of account ${account.name} (${known.join(', ') || 'none declared'})`,
      ));
      return [
        ...unknown(Object.keys(services.endpoints), account.endpoints.map((e) => e.name), 'endpoints', 'streaming endpoint'),
        ...unknown(Object.keys(services.channels), account.channels.map((c) => c.name), 'channels', 'live channel'),
      ];
    },
  },
  {
    id: 'kubernetes-autoscaling-bounds',
    scope: 'account',
    description: 'An origin autoscaler may grow every endpoint from max(1, scaleUnits) replicas: its maximum is not below that.',
    check: (account) => {
      const autoscaling = account.platform?.kind === 'kubernetes' ? account.platform.originAutoscaling : undefined;
      if (!autoscaling) return [];
      return account.endpoints.filter((e) => Math.max(1, e.scaleUnits) > autoscaling.maxReplicas).map((e) => issue(
        e.path, 'scaleUnits', `${e.scaleUnits} (above platform.originAutoscaling.maxReplicas ${autoscaling.maxReplicas})`,
        `at most ${autoscaling.maxReplicas} scale units, or a larger originAutoscaling.maxReplicas on account ${account.name}`,
      ));
    },
  },
  {
    id: 'kubernetes-key-url',
    scope: 'account',
    description: 'On Kubernetes the key service has a Service (an address) of its own: players of protected locators need its public URL.',
    check: (account) => {
      if (account.platform?.kind !== 'kubernetes' || account.keyDelivery.publicBaseUrl) return [];
      const protectedPolicies = protectedPolicyNames(account);
      const locator = account.locators.find((l) => protectedPolicies.has(l.deliveryPolicy));
      const encryption = account.deliveryPolicies.find((d) => d.name === locator?.deliveryPolicy)?.encryption.type;
      return locator ? [issue(
        account.path, 'keyDelivery.publicBaseUrl', `nothing (locator ${locator.name} is ${encryption}-encrypted)`,
        'the URL players reach the key service at on the cluster, e.g. https://keys.example.com (its Service has its own address, not the origin\'s)',
      )] : [];
    },
  },
  {
    id: 'unique-renditions',
    scope: 'account',
    description: 'Rendition names of a ladder are unique: each is a folder and a playlist (two rungs both defaulting to `720p` would write into one).',
    check: (account) => account.channels.flatMap((channel) => {
      const names = channel.encoding.type === 'standard' ? channel.encoding.ladder.map((rung) => rung.name) : [];
      return duplicateIndexes(names).map((index) => issue(
        channel.path, `encoding.ladder.${index}.name`, JSON.stringify(names[index]),
        `a rendition name not already used in this ladder (rung ${names.indexOf(names[index])} has it): give rungs distinct names (a rung's default name is \`<height>p\`)`,
      ));
    }),
  },
  {
    id: 'key-uris-reachable',
    scope: 'account',
    description: 'An endpoint serving protected locators on every interface (0.0.0.0, ::) names the host players use: key and license URIs come from configuration, never from the Host header.',
    check: (account) => {
      if (account.keyDelivery.publicBaseUrl !== undefined || (account.bindAddress !== '0.0.0.0' && account.bindAddress !== '::')) return [];
      const protectedPolicies = protectedPolicyNames(account);
      return account.endpoints
        .filter((e) => e.hostNames.length === 0 && account.locators.some((l) => l.endpoint === e.name && protectedPolicies.has(l.deliveryPolicy)))
        .map((e) => issue(
          e.path, 'hostNames', `none, with bindAddress ${account.bindAddress} (key URIs would say localhost)`,
          'the host name players reach this endpoint by (hostNames), or the account\'s keyDelivery.publicBaseUrl: key URIs are never taken from the Host header',
        ));
    },
  },
  {
    id: 'required-claims-can-hold',
    scope: 'account',
    description: 'Required claims of a token policy can be met: time claims are required present (null), never pinned to a value; iss and aud, when pinned, agree with issuer and audience.',
    check: (account) => tokenPolicies(account).flatMap(({ policy, restriction: r }) => {
      return Object.entries(r.requiredClaims).flatMap(([claim, value]) => {
        const field = `restriction.requiredClaims.${claim}`;
        if (value === null) return [];
        if (TIME_CLAIMS.includes(claim)) {
          return [issue(policy.path, field, JSON.stringify(value), `null (present, any value): a time claim pinned to one value fails every token after that instant${claim === 'exp' ? '; expiry is checked anyway' : ''}`)];
        }
        if (claim === 'iss' && value !== r.issuer) return [issue(policy.path, field, JSON.stringify(value), `null or the issuer ${JSON.stringify(r.issuer)}: no token can carry two issuers`)];
        if (claim === 'aud' && value !== r.audience) return [issue(policy.path, field, JSON.stringify(value), `null or the audience ${JSON.stringify(r.audience)}: a token with another audience is refused anyway`)];
        return [];
      });
    }),
  },
  {
    id: 'srt-settings',
    scope: 'account',
    description: 'A channel takes each ingest protocol once; it has SRT settings exactly when it takes SRT; and its stream key, the SRT passphrase, is one the listener can read (not kept only as a hash).',
    check: (account) => account.channels.flatMap(srtSettings),
  },
  {
    id: 'distinct-ports',
    scope: 'manifest',
    description: 'Published ports do not collide on one address and protocol (0.0.0.0 collides with every address), across accounts too.',
    check: distinctPorts,
  },
];

/** The account's token key policies, each with its restriction narrowed to the token form. */
function tokenPolicies(account: AccountManifest) {
  return account.keyPolicies.flatMap((policy) => (policy.restriction.type === 'token' ? [{ policy, restriction: policy.restriction }] : []));
}

/** JWT time claims (RFC 7519 §4.1.4-6): their values move with time, so they cannot be pinned. */
const TIME_CLAIMS = ['exp', 'nbf', 'iat'];

/** Positions of the second and later occurrences of each value, in order. */
function duplicateIndexes(values: readonly string[]): number[] {
  const seen = new Set<string>();
  return values.flatMap((value, index) => {
    if (!seen.has(value)) {
      seen.add(value);
      return [];
    }
    return [index];
  });
}

/** Every rule over a whole manifest. */
export function checkManifest(manifest: Manifest): ValidationIssue[] {
  return RULES.flatMap((rule) => (rule.scope === 'manifest' ? rule.check(manifest) : manifest.accounts.flatMap((account) => rule.check(account))));
}


function unique<T extends { path: string }>(items: readonly T[], key: (item: T) => string, what: string, field: string): ValidationIssue[] {
  const seen = new Map<string, string>();
  return items.flatMap((item) => {
    const value = key(item);
    const first = seen.get(value);
    if (first === undefined) {
      seen.set(value, item.path);
      return [];
    }
    return [issue(item.path, field, JSON.stringify(value), `a ${what} not already used (taken by ${first})`)];
  });
}

function segmentsOnKeyFrames(channel: ChannelManifest): boolean {
  const multiple = channel.segmentDurationSeconds / channel.keyFrameIntervalSeconds;
  return multiple >= 1 - 1e-9 && Math.abs(multiple - Math.round(multiple)) <= 1e-6;
}

function endAfterStart(item: ProgramManifest | LocatorManifest): ValidationIssue[] {
  if (!item.start || !item.end || Date.parse(item.end) > Date.parse(item.start)) return [];
  return [issue(item.path, 'end', item.end, `a time after start (${item.start})`)];
}

function locatorReferences(account: AccountManifest, locator: LocatorManifest): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const channel = account.channels.find((c) => c.name === locator.channel);
  if (!channel?.programs.some((p) => p.name === locator.program)) {
    issues.push(issue(locator.path, 'program', `${locator.channel}/${locator.program}`, `a program of a channel in account ${account.name}`));
  }
  if (!account.endpoints.some((e) => e.name === locator.endpoint)) {
    issues.push(issue(locator.path, 'endpoint', JSON.stringify(locator.endpoint), `a streaming endpoint of account ${account.name}`));
  }
  if (!account.deliveryPolicies.some((d) => d.name === locator.deliveryPolicy)) {
    issues.push(issue(locator.path, 'deliveryPolicy', JSON.stringify(locator.deliveryPolicy), `a delivery policy of account ${account.name}`));
  }
  return issues;
}

function srtSettings(channel: ChannelManifest): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const takesSrt = channel.protocols.includes('srt');
  if (new Set(channel.protocols).size !== channel.protocols.length) {
    issues.push(issue(channel.path, 'protocols', JSON.stringify(channel.protocols), 'each protocol once'));
  }
  if (takesSrt !== (channel.srt !== undefined)) {
    issues.push(issue(
      channel.path, 'srt', channel.srt ? 'SRT settings without "srt" in protocols' : 'no SRT settings with "srt" in protocols',
      'srt settings exactly when protocols include "srt"',
    ));
  }
  if (takesSrt && channel.streamKey.kind === 'hash') {
    issues.push(issue(
      channel.path, 'streamKey', 'a stream key kept only as a hash (given in plain text)',
      'a generated or variable stream key on a channel with SRT: the key is the SRT passphrase, which the listener needs in clear',
    ));
  }
  return issues;
}

function distinctPorts(manifest: Manifest): ValidationIssue[] {
  const seen = new Map<string, { address: string; path: string; what: string }[]>();
  const issues: ValidationIssue[] = [];
  const claim = (address: string, port: number, protocol: 'tcp' | 'udp', path: string, what: string, field: string) => {
    const key = `${port}/${protocol}`;
    const holders = seen.get(key) ?? [];
    const clash = holders.find((h) => h.address === address || h.address === '0.0.0.0' || address === '0.0.0.0');
    if (clash) {
      // Defaults are the same for every sibling (a port never depends on a position): say what to set.
      const hint = clash.what === what ? ` (every ${what.startsWith('channel') ? 'channel' : what} defaults to the same port: set \`${field}\` on all but one)` : '';
      const on = protocol === 'udp' ? `${address} (UDP)` : address;
      issues.push(issue(path, field, `${port} (${what})`, `a port not already used on ${on}: ${clash.path} (${clash.what}) uses ${port}${hint}`));
    }
    holders.push({ address, path, what });
    seen.set(key, holders);
  };
  for (const account of manifest.accounts) {
    claim(account.bindAddress, account.keyDelivery.port, 'tcp', account.path, 'key delivery', 'keyDelivery.port');
    for (const endpoint of account.endpoints) claim(account.bindAddress, endpoint.port, 'tcp', endpoint.path, 'streaming endpoint', 'port');
    for (const channel of account.channels) {
      if (channel.protocols.includes('rtmp')) claim(account.bindAddress, channel.port, 'tcp', channel.path, 'channel ingest', 'port');
      // SRT takes the channel's port number over UDP by default: RTMP's TCP port does not clash with it.
      if (channel.srt) claim(account.bindAddress, channel.srt.port, 'udp', channel.path, 'channel SRT ingest', channel.srt.port === channel.port ? 'port' : 'srt.port');
    }
  }
  return issues;
}

/** Delivery policies whose players fetch keys from the key service (envelope, cenc, cbcs). */
function protectedPolicyNames(account: AccountManifest): Set<string> {
  return new Set(account.deliveryPolicies.filter((d) => d.encryption.type !== 'none').map((d) => d.name));
}
