import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { MediaAccount, Platform, RuntimeImage, Secret, SwarmOptions } from '../../constructs';
import { STORAGE_MOUNT } from '../../lib/contract/workload-spec';
import { ENV, secretEnvName } from '../../lib/contract/workload-env';
import { Manifest } from '../../lib/model/manifest';
import { swarmService, secretFingerprint, swarmSecretName } from '../../lib/render/swarm-service';
import { serviceSpec } from '../../lib/runtime/drivers/swarm-service-spec';
import { LivestackStackSynthesis } from '../../lib/synth/stack-synthesis';
import { topology } from '../../lib/topology';
import { terraformSecretName } from '../../lib/synth/swarm-resources';

const IMAGE = 'registry.example.com/livestack/runtime:0.1.0';

/** A swarm account with one endpoint of `scaleUnits` and one channel (stream key from a variable). */
function manifestOf(options: SwarmOptions = {}, scaleUnits = 3, shared?: string): { manifest: Manifest; synthesized: string } {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  const streamKey = new TerraformVariable(stack, 'stream_key', { type: 'string', sensitive: true });
  const account = new MediaAccount(stack, 'tv', {
    runtimeImage: RuntimeImage.fromName(IMAGE), platform: Platform.swarm(options), ...(shared ? { storage: { shared: { hostPath: shared } } } : {}),
  });
  const endpoint = account.addStreamingEndpoint('main', { scaleUnits });
  account.addLiveChannel('news', { streamKey: Secret.fromVariable(streamKey) }).addProgram('live').publish(endpoint);
  return { manifest: LivestackStackSynthesis.of(stack).render().manifest, synthesized: Testing.synth(stack, true) };
}

const byName = (manifest: Manifest) => new Map(topology(manifest).map((s) => [s.role, swarmService(s)]));

describe('Swarm renderer', () => {
  test('an endpoint of 3 scale units is one origin service of 3 replicas, updated start-first; no balancer', () => {
    const services = byName(manifestOf({}, 3).manifest);
    expect([...services.keys()].sort()).toEqual(['ingest', 'keys', 'origin']);
    const origin = services.get('origin')!;
    expect(origin.replicas).toBe(3);
    expect(origin.update.order).toBe('start-first');
    expect(origin.ports).toEqual([{ target: 8080, published: 8080, protocol: 'tcp', publishMode: 'ingress' }]);
    expect(origin.endpointMode).toBe('vip');
  });

  test('an ingest is one replica, updated stop-first (never two writers of a channel), its stream key a Docker secret file', () => {
    const ingest = byName(manifestOf().manifest).get('ingest')!;
    expect(ingest.replicas).toBe(1);
    expect(ingest.update.order).toBe('stop-first');
    expect(ingest.secrets.map((s) => s.variable)).toEqual(['stream_key']);
    const [secret] = ingest.secrets;
    expect(secret.env.startsWith(secretEnvName(''))).toBe(true);
    expect(ingest.env[`${secret.env}_FILE`]).toBe(`/run/secrets/${secret.fileName}`);
    expect(ingest.env[secret.env]).toBeUndefined();
    // Swarm restarts what exits or fails its health check, on any node.
    expect(ingest.restart).toEqual({ condition: 'any', delaySeconds: 1, maxAttempts: 0 });
    expect(ingest.healthcheck.test[0]).toBe('CMD');
  });

  test('an ingest is health-checked every 2 s (a moved one takes its encoder sooner), declared unhealthy after as long a failing stretch as its spec says', () => {
    const manifest = manifestOf().manifest;
    const spec = topology(manifest).find((s) => s.role === 'ingest')!;
    const services = byName(manifest);
    const ingest = services.get('ingest')!;
    expect(ingest.healthcheck.intervalSeconds).toBe(2);
    expect(ingest.healthcheck.intervalSeconds * ingest.healthcheck.retries).toBeGreaterThanOrEqual(spec.healthCheck.intervalSeconds * spec.healthCheck.retries);
    expect(ingest.healthcheck.startPeriodSeconds).toBe(spec.healthCheck.startPeriodSeconds);
    // Origins and the key service keep the spec's check: their tasks moving costs players nothing.
    const origin = topology(manifest).find((s) => s.role === 'origin')!;
    expect(services.get('origin')!.healthcheck.intervalSeconds).toBe(origin.healthCheck.intervalSeconds);
  });

  test('host publish mode uses DNS round robin; placement and resource reservations come through', () => {
    const services = byName(manifestOf({ publishMode: 'host', placement: { constraints: ['node.labels.media==true'], spreadOver: ['node.labels.zone'], maxReplicasPerNode: 1 } }).manifest);
    const origin = services.get('origin')!;
    expect(origin.endpointMode).toBe('dnsrr');
    expect(origin.ports.every((p) => p.publishMode === 'host')).toBe(true);
    expect(origin.placement).toEqual({ constraints: ['node.labels.media==true'], preferences: ['spread=node.labels.zone'], maxReplicas: 1 });
    // Derived from the measured cost (resource-requests.ts): a Default720p ingest reserves most of a core.
    expect(services.get('ingest')!.resources.reservations.nanoCpus).toBeGreaterThan(800_000_000);
    expect(origin.resources.reservations.memoryBytes).toBeGreaterThan(0);
  });

  test('shared storage is a bind mount of the same host path at the storage root of every workload; the volume otherwise', () => {
    const shared = byName(manifestOf({}, 1, '/mnt/media').manifest);
    for (const service of shared.values()) expect(service.mounts).toEqual([{ type: 'bind', source: '/mnt/media', target: STORAGE_MOUNT, readOnly: false }]);
    const local = byName(manifestOf({}, 1).manifest);
    for (const service of local.values()) expect(service.mounts).toEqual([{ type: 'volume', source: 'livestack-tv-storage', target: STORAGE_MOUNT, readOnly: false }]);
  });

  test('scaling changes only the replica count: the spec hash of the origin stays, nothing else of its service moves', () => {
    const [two, four] = [2, 4].map((n) => topology(manifestOf({}, n).manifest).find((s) => s.role === 'origin')!);
    expect(two.specHash).toBe(four.specHash);
    expect({ ...serviceSpec(swarmService(two), []), Mode: undefined }).toEqual({ ...serviceSpec(swarmService(four), []), Mode: undefined });
  });

  test('the live hash is a service label, not a container label: delivering a live config restarts no task', () => {
    const origin = byName(manifestOf().manifest).get('origin')!;
    expect(origin.labels['livestack.live-hash']).toBeDefined();
    expect(origin.containerLabels['livestack.live-hash']).toBeUndefined();
    expect(origin.env[ENV.liveConfig]).toBeDefined();
  });

  test('Terraform renders docker_service and docker_secret with the driver\'s secret name, the value never in clear', () => {
    const { synthesized } = manifestOf();
    const tf = JSON.parse(synthesized) as { resource: Record<string, Record<string, Record<string, unknown>>> };
    expect(Object.keys(tf.resource.docker_service).sort()).toEqual(['ls_tv_ingest_news', 'ls_tv_keys', 'ls_tv_origin_main']);
    expect(tf.resource.docker_container).toBeUndefined();
    const [secret] = Object.values(tf.resource.docker_secret);
    expect(secret.name).toBe(terraformSecretName('tv', 'stream_key'));
    expect(secret.data).toBe('${base64encode(var.stream_key)}');
    // Terraform's sha256 of the value, first 12 hex digits, is the driver's fingerprint.
    expect(terraformSecretName('tv', 'stream_key').replace('${substr(sha256(var.stream_key), 0, 12)}', secretFingerprint('k'))).toBe(swarmSecretName('tv', 'stream_key', secretFingerprint('k')));
  });
});
