/**
 * The rules table (lib/model/rules.ts) against manifests as they arrive from disk: a valid manifest
 * (examples/protected as synthesized, test/fixtures/manifests) and one edit per rule that breaks it.
 * Every rule of the table must be broken by at least one case here, so a new rule comes with its test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LivestackValidationError, ValidationIssue } from '../../lib/model/errors';
import { loadManifest } from '../../lib/model/load-manifest';
import { AccountManifest, KubernetesPlatform, Manifest } from '../../lib/model/manifest';
import { RULES } from '../../lib/model/rules';

const FILE = path.join(__dirname, '..', 'fixtures', 'manifests', 'protected.json');
const valid = (): Manifest => JSON.parse(fs.readFileSync(FILE, 'utf8'));

interface Case {
  readonly rule: string;
  readonly name: string;
  readonly edit: (account: AccountManifest, manifest: Manifest) => void;
  readonly issue: Omit<Partial<ValidationIssue>, 'allowed'> & { readonly allowed?: RegExp };
}

const A = 'protected/premium';

/** The account moved to Kubernetes, as Platform.kubernetes() writes it, pulling an image from a registry. */
const onKubernetes = (a: AccountManifest, platform: Partial<KubernetesPlatform> = {}): void => {
  delete a.imageBuild;
  a.image = 'registry.example.com/livestack/runtime:0.1.0';
  const exposure = { type: 'LoadBalancer' as const, annotations: {} };
  a.platform = {
    kind: 'kubernetes', namespace: 'livestack-premium', createNamespace: true, storage: { size: '100Gi' },
    image: { pullPolicy: 'IfNotPresent', pullSecrets: [] }, nodeSelector: {}, tolerations: [],
    services: { endpoint: exposure, ingest: exposure, keys: exposure, endpoints: {}, channels: {} }, resources: {},
    ...platform,
  };
};
const cases: Case[] = [
  { rule: 'max-channels', name: 'more channels than the limit', edit: (a) => { a.limits.maxChannels = 1; a.channels.push({ ...a.channels[0], name: 'second', path: `${A}/second`, port: 2936, programs: [] }); }, issue: { path: `${A}/second`, field: 'channels', received: 'channel number 2' } },
  { rule: 'unique-names', name: 'two channels with one name', edit: (a) => { a.channels.push({ ...a.channels[0], path: `${A}/other`, port: 2936, programs: [] }); }, issue: { path: `${A}/other`, field: 'name', received: '"match"' } },
  { rule: 'unique-names', name: 'two locators with one id', edit: (a) => { a.locators.push({ ...a.locators[0], name: 'copy', path: `${A}/copy` }); }, issue: { path: `${A}/copy`, field: 'locatorId' } },
  { rule: 'unique-names', name: 'two programs recording one asset', edit: (a) => { a.channels[0].programs.push({ ...a.channels[0].programs[0], name: 'late', path: `${A}/match/late` }); }, issue: { path: `${A}/match/late`, field: 'assetName', received: '"match-live"' } },
  { rule: 'running-programs', name: 'a fourth running program', edit: (a) => { for (const n of ['b', 'c', 'd']) a.channels[0].programs.push({ ...a.channels[0].programs[0], name: n, path: `${A}/match/${n}`, assetName: `match-${n}` }); }, issue: { path: `${A}/match/d`, field: 'state', allowed: /at most 3 running programs/ } },
  { rule: 'segments-on-key-frames', name: 'a segment that is not a multiple of the key frame interval', edit: (a) => { a.channels[0].segmentDurationSeconds = 5; }, issue: { path: `${A}/match`, field: 'segmentDuration', received: '5s' } },
  { rule: 'low-latency-segments', name: 'a low-latency channel with 8-s segments', edit: (a) => { Object.assign(a.channels[0], { latency: 'low', keyFrameIntervalSeconds: 2, segmentDurationSeconds: 8 }); }, issue: { path: `${A}/match`, field: 'segmentDuration', received: '8s with latency "low"' } },
  { rule: 'end-after-start', name: 'a locator ending before it starts', edit: (a) => { a.locators[0].end = '2025-01-01T00:00:00.000Z'; }, issue: { path: `${A}/match/live/Locator-main`, field: 'end' } },
  { rule: 'end-after-start', name: 'a program ending when it starts', edit: (a) => { Object.assign(a.channels[0].programs[0], { start: '2026-01-01T00:00:00Z', end: '2026-01-01T00:00:00Z' }); }, issue: { path: `${A}/match/live`, field: 'end' } },
  { rule: 'references', name: 'a locator on an endpoint that does not exist', edit: (a) => { a.locators[0].endpoint = 'gone'; }, issue: { path: `${A}/match/live/Locator-main`, field: 'endpoint', received: '"gone"' } },
  { rule: 'references', name: 'envelope under a key policy that does not exist', edit: (a) => { a.deliveryPolicies[0].encryption = { type: 'envelope', keyPolicy: 'nobody' }; }, issue: { path: `${A}/envelope-hls`, field: 'encryption.keyPolicy' } },
  { rule: 'envelope-is-hls', name: 'envelope encryption offered on DASH', edit: (a) => { a.deliveryPolicies[0].protocols = ['hls', 'dash']; }, issue: { path: `${A}/envelope-hls`, field: 'protocols' } },
  { rule: 'keys-match-algorithms', name: 'an HMAC key under RS256', edit: (a) => { (a.keyPolicies[0].restriction as { algorithms: string[] }).algorithms = ['RS256']; }, issue: { path: `${A}/viewers`, field: 'restriction.keys.0', received: 'a oct key' } },
  { rule: 'kubernetes-pullable-image', name: 'an image built on a Docker host, on Kubernetes', edit: (a) => { onKubernetes(a); a.imageBuild = { baseImage: 'node:20-bookworm-slim' }; }, issue: { path: A, field: 'runtimeImage', allowed: /RuntimeImage\.fromName/ } },
  { rule: 'swarm-pullable-image', name: 'an image built on one Docker host, on a swarm', edit: (a) => { a.platform = { kind: 'swarm', publishMode: 'ingress', placement: { constraints: [], spreadOver: [] } }; a.imageBuild = { baseImage: 'node:20-bookworm-slim' }; }, issue: { path: A, field: 'runtimeImage', allowed: /docker save \| docker load/ } },
  { rule: 'shared-storage-engine', name: 'a shared host path on Kubernetes', edit: (a) => { onKubernetes(a); a.storage.shared = { hostPath: '/mnt/media' }; }, issue: { path: A, field: 'storage.shared', received: '"/mnt/media"', allowed: /ReadWriteMany/ } },
  { rule: 'kubernetes-service-names', name: 'a Service override for a channel that does not exist', edit: (a) => { onKubernetes(a); a.platform!.kind === 'kubernetes' && (a.platform!.services.channels.gone = { type: 'NodePort', annotations: {} }); }, issue: { path: A, field: 'platform.services.channels.gone', received: '"gone"' } },
  { rule: 'kubernetes-autoscaling-bounds', name: 'more scale units than the autoscaler may run', edit: (a) => { onKubernetes(a, { originAutoscaling: { maxReplicas: 2, targetCpuUtilizationPercent: 70 } }); a.endpoints[0].scaleUnits = 3; }, issue: { path: `${A}/main`, field: 'scaleUnits' } },
  { rule: 'references', name: 'cbcs under a key policy that does not exist', edit: (a) => { a.deliveryPolicies[0].encryption = { type: 'cbcs', keyPolicy: 'nobody', keySystems: ['clearkey'] }; }, issue: { path: `${A}/envelope-hls`, field: 'encryption.keyPolicy', received: '"nobody"' } },
  { rule: 'cenc-is-dash', name: 'cenc offered on HLS', edit: (a) => { a.deliveryPolicies[0].encryption = { type: 'cenc', keyPolicy: 'viewers', keySystems: ['clearkey'] }; a.deliveryPolicies[0].protocols = ['hls', 'dash']; }, issue: { path: `${A}/envelope-hls`, field: 'protocols', received: '["hls","dash"]', allowed: /only \["dash"\] with cenc.*DeliveryEncryption\.cbcs/ } },
  { rule: 'common-encryption-standard-latency', name: 'a cbcs locator on a low-latency channel', edit: (a) => { a.deliveryPolicies[0].encryption = { type: 'cbcs', keyPolicy: 'viewers', keySystems: ['clearkey'] }; Object.assign(a.channels[0], { latency: 'low', keyFrameIntervalSeconds: 1, segmentDurationSeconds: 2 }); }, issue: { path: `${A}/match/live/Locator-main`, field: 'deliveryPolicy', received: '"envelope-hls" (cbcs) on channel match with latency "low"', allowed: /LL-HLS parts would go out unprotected/ } },
  { rule: 'kubernetes-key-url', name: 'a cbcs locator on Kubernetes without the key service\'s public URL', edit: (a) => { a.deliveryPolicies[0].encryption = { type: 'cbcs', keyPolicy: 'viewers', keySystems: ['clearkey'] }; onKubernetes(a); delete a.keyDelivery.publicBaseUrl; }, issue: { path: A, field: 'keyDelivery.publicBaseUrl', received: 'nothing (locator match-live-locator-main is cbcs-encrypted)' } },
  { rule: 'kubernetes-key-url', name: 'an envelope locator on Kubernetes without the key service\'s public URL', edit: (a) => { onKubernetes(a); delete a.keyDelivery.publicBaseUrl; }, issue: { path: A, field: 'keyDelivery.publicBaseUrl' } },
  { rule: 'key-uris-reachable', name: 'envelope locators on every interface without a host name', edit: (a) => { a.bindAddress = '0.0.0.0'; }, issue: { path: `${A}/main`, field: 'hostNames', allowed: /never taken from the Host header/ } },
  { rule: 'unique-renditions', name: 'two rungs with one name', edit: (a) => { const e = a.channels[0].encoding; if (e.type === 'standard') e.ladder.push({ ...e.ladder[0] }); }, issue: { path: `${A}/match`, field: 'encoding.ladder.3.name', allowed: /distinct names/ } },
  { rule: 'required-claims-can-hold', name: 'exp pinned to a value', edit: (a) => { (a.keyPolicies[0].restriction as { requiredClaims: Record<string, unknown> }).requiredClaims.exp = 1767225600; }, issue: { path: `${A}/viewers`, field: 'restriction.requiredClaims.exp', received: '1767225600' } },
  { rule: 'required-claims-can-hold', name: 'iss contradicting the issuer', edit: (a) => { (a.keyPolicies[0].restriction as { requiredClaims: Record<string, unknown> }).requiredClaims.iss = 'https://elsewhere.example'; }, issue: { path: `${A}/viewers`, field: 'restriction.requiredClaims.iss', allowed: /no token can carry two issuers/ } },
  { rule: 'srt-settings', name: 'a channel taking SRT without its settings', edit: (a) => { a.channels[0].protocols = ['rtmp', 'srt']; }, issue: { path: `${A}/match`, field: 'srt', received: 'no SRT settings with "srt" in protocols' } },
  { rule: 'srt-settings', name: 'a protocol twice', edit: (a) => { a.channels[0].protocols = ['rtmp', 'rtmp']; }, issue: { path: `${A}/match`, field: 'protocols', allowed: /each protocol once/ } },
  { rule: 'srt-settings', name: 'an SRT channel whose key is kept only as a hash', edit: (a) => { Object.assign(a.channels[0], { protocols: ['srt'], srt: { port: 9000, keyLength: 16, latencyMs: 120 }, streamKey: { kind: 'hash', id: 'k', algorithm: 'scrypt', salt: 'c2FsdHNhbHQ=', hash: 'aGFzaGhhc2hoYXNoaGFzaA==', cost: 16384 } }); }, issue: { path: `${A}/match`, field: 'streamKey', allowed: /the key is the SRT passphrase, which the listener needs in clear/ } },
  { rule: 'distinct-ports', name: 'two SRT channels on one UDP port', edit: (a) => { Object.assign(a.channels[0], { protocols: ['srt'], srt: { port: 9000, keyLength: 16, latencyMs: 120 } }); a.channels.push({ ...structuredClone(a.channels[0]), name: 'second', path: `${A}/second`, port: 2936, programs: [] }); }, issue: { path: `${A}/second`, field: 'srt.port', allowed: /\(UDP\): protected\/premium\/match \(channel SRT ingest\) uses 9000/ } },
  { rule: 'distinct-ports', name: 'an endpoint on the key delivery port', edit: (a) => { a.endpoints[0].port = a.keyDelivery.port; }, issue: { path: `${A}/main`, field: 'port' } },
  { rule: 'distinct-ports', name: 'two accounts on one port of one address', edit: (a, m) => { m.accounts.push({ ...structuredClone(a), name: 'other', path: 'protected/other', endpoints: [], channels: [], locators: [] }); }, issue: { path: 'protected/other', field: 'keyDelivery.port' } },
];

function issuesOf(manifest: Manifest): ValidationIssue[] {
  try {
    loadManifest(JSON.stringify(manifest), 'manifest.json');
    return [];
  } catch (error) {
    if (error instanceof LivestackValidationError) return error.issues;
    throw error;
  }
}

describe('the rules over a manifest from disk', () => {
  test('the synthesized example passes every rule', () => {
    expect(issuesOf(valid())).toEqual([]);
  });

  test.each(cases.map((c) => [`${c.rule}: fails on ${c.name}`, c] as const))('%s', (_title, c) => {
    const manifest = valid();
    c.edit(manifest.accounts[0], manifest);
    const { allowed, ...expected } = c.issue;
    const issues = issuesOf(manifest);
    const found = issues.find((i) => i.path === expected.path && i.field === expected.field);
    expect({ found, issues }).toEqual(expect.objectContaining({ found: expect.objectContaining(expected) }));
    if (allowed) expect(found!.allowed).toMatch(allowed);
  });

  test('every rule of the table is broken by at least one case above', () => {
    expect(RULES.map((r) => r.id).filter((id) => !cases.some((c) => c.rule === id))).toEqual([]);
  });

  test('a manifest that is not JSON, or breaks the schema, fails naming the file and the field', () => {
    expect(() => loadManifest('{"apiVersion": "livestack/v1", "accounts": [', 'state/manifest.json')).toThrow(/state\/manifest\.json: \(file\): received text that is not JSON/);
    const broken = valid();
    (broken.accounts[0].channels[0] as { port: unknown }).port = 'rtmp';
    expect(() => loadManifest(JSON.stringify(broken), 'm.json')).toThrow(/m\.json: accounts\.0\.channels\.0\.port: received "rtmp"/);
  });

  test('a union field says what it allows, not zod\'s "Invalid input": an SRT channel from before keyLength replaced minKeyLength', () => {
    const old = valid();
    const channel = old.accounts[0].channels[0] as unknown as Record<string, unknown>;
    channel.protocols = ['rtmp', 'srt'];
    channel.srt = { port: 9000, minKeyLength: 16, latencyMs: 120 };
    expect(() => loadManifest(JSON.stringify(old), 'm.json')).toThrow(/m\.json: accounts\.0\.channels\.0\.srt\.keyLength: received nothing \(undefined\); allowed: one of 16, 24, 32/);
    channel.srt = { port: 9000, keyLength: 20, latencyMs: 120 };
    expect(() => loadManifest(JSON.stringify(old), 'm.json')).toThrow(/srt\.keyLength: received 20; allowed: one of 16, 24, 32/);
    // AND a tagged union whose tag matches no kind lists the kinds
    const tagged = valid();
    (tagged.accounts[0].channels[0].encoding as { type: string }).type = 'ladder';
    expect(() => loadManifest(JSON.stringify(tagged), 'm.json')).toThrow(/channels\.0\.encoding\.type: received "ladder"; allowed: one of "passthrough", "standard"/);
  });
});
