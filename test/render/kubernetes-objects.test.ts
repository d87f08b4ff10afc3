import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { Encoding, EncodingPreset, KubernetesOptions, MediaAccount, Platform, RuntimeImage, Secret } from '../../constructs';
import { LABELS } from '../../lib/contract/labels';
import { ENV } from '../../lib/contract/workload-env';
import { Manifest } from '../../lib/model/manifest';
import { Deployment, HorizontalPodAutoscaler, KubernetesObject, kubernetesObjects, NetworkPolicy, Service } from '../../lib/render/kubernetes-objects';
import { LivestackStackSynthesis } from '../../lib/synth/stack-synthesis';
import { topology } from '../../lib/topology';
import { INGEST_COST } from '../../lib/topology/resource-requests';

const IMAGE = 'registry.example.com/livestack/runtime:0.1.0';

/** A Kubernetes account with one endpoint of `scaleUnits` and one channel (stream key from a variable). */
function manifestOf(options: KubernetesOptions = {}, scaleUnits = 3, build?: (account: MediaAccount) => void): Manifest {
  const stack = new TerraformStack(Testing.app(), 'test');
  const streamKey = new TerraformVariable(stack, 'stream_key', { type: 'string', sensitive: true });
  const account = new MediaAccount(stack, 'tv', { runtimeImage: RuntimeImage.fromName(IMAGE), platform: Platform.kubernetes(options) });
  const endpoint = account.addStreamingEndpoint('main', { scaleUnits });
  account.addLiveChannel('news', { streamKey: Secret.fromVariable(streamKey) }).addProgram('live').publish(endpoint);
  build?.(account);
  return LivestackStackSynthesis.of(stack).render().manifest;
}

function render(manifest: Manifest) {
  const [account] = manifest.accounts;
  if (account.platform?.kind !== 'kubernetes') throw new Error('not a Kubernetes account');
  return kubernetesObjects({ name: account.name, platform: account.platform }, topology(manifest));
}

const find = <K extends KubernetesObject['kind']>(objects: readonly KubernetesObject[], kind: K, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name) as Extract<KubernetesObject, { kind: K }>;

describe('Kubernetes renderer', () => {
  test('an endpoint of 3 scale units is one origin Deployment of 3 replicas, rolling, behind one Service; no balancer', () => {
    // GIVEN an endpoint with 3 scale units on Kubernetes
    const manifest = manifestOf({}, 3);

    // WHEN topology and the renderer run
    const specs = topology(manifest);
    const { objects } = render(manifest);

    // THEN one origin spec of 3 replicas on the endpoint port, and no balancer
    expect(specs.map((s) => [s.name, s.role, s.replicas ?? 1])).toEqual([
      ['ls-tv-ingest-news', 'ingest', 1], ['ls-tv-keys', 'keys', 1], ['ls-tv-origin-main', 'origin', 3],
    ]);
    const origin = find(objects, 'Deployment', 'ls-tv-origin-main');
    expect(origin.spec.replicas).toBe(3);
    expect(origin.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const service = find(objects, 'Service', 'ls-tv-origin-main');
    expect(service.spec).toEqual(expect.objectContaining({ type: 'LoadBalancer', selector: origin.spec.selector.matchLabels, externalTrafficPolicy: 'Local' }));
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP' }]);
    expect(objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual(['ls-tv-ingest-news', 'ls-tv-keys', 'ls-tv-origin-main']);
  });

  test('an ingest is one replica, Recreate, so two ingests never write one channel', () => {
    const ingest = find(render(manifestOf()).objects, 'Deployment', 'ls-tv-ingest-news');
    expect(ingest.spec.replicas).toBe(1);
    expect(ingest.spec.strategy).toEqual({ type: 'Recreate' });
    expect(find(render(manifestOf()).objects, 'Service', 'ls-tv-ingest-news').spec.ports).toEqual([{ name: 'rtmp', port: 1935, targetPort: 1935, protocol: 'TCP' }]);
  });

  test('every workload mounts the one ReadWriteMany claim of the account storage', () => {
    const { objects } = render(manifestOf({ storage: { storageClassName: 'efs', size: '500Gi' } }));
    const claims = objects.filter((o) => o.kind === 'PersistentVolumeClaim');
    expect(claims).toEqual([expect.objectContaining({
      metadata: expect.objectContaining({ name: 'ls-tv-storage', namespace: 'livestack-tv' }),
      spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '500Gi' } }, storageClassName: 'efs' },
    })]);
    for (const deployment of objects.filter((o): o is Deployment => o.kind === 'Deployment')) {
      expect(deployment.spec.template.spec.volumes).toContainEqual({ name: 'storage', persistentVolumeClaim: { claimName: 'ls-tv-storage' } });
      expect(deployment.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'storage', mountPath: '/var/lib/livestack', readOnly: false });
    }
  });

  test('a secret from a variable is a reference to the account Secret, never a value; the Secret is listed, not rendered', () => {
    const rendering = render(manifestOf());
    const env = find(rendering.objects, 'Deployment', 'ls-tv-ingest-news').spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'LIVESTACK_SECRET_TV_NEWS_STREAM_KEY', valueFrom: { secretKeyRef: { name: 'ls-tv-secrets', key: 'stream_key' } } });
    expect(rendering.objects.some((o) => (o.kind as string) === 'Secret')).toBe(false);
    expect(rendering.secrets).toEqual([{ namespace: 'livestack-tv', name: 'ls-tv-secrets', keys: ['stream_key'] }]);
  });

  test('probes run each workload\'s own health check, with its timings', () => {
    const manifest = manifestOf();
    const spec = topology(manifest).find((s) => s.role === 'ingest')!;
    const container = find(render(manifest).objects, 'Deployment', spec.name).spec.template.spec.containers[0];
    const exec = { command: ['livestack', 'probe', spec.healthCheck.httpUrl] };
    expect(container.readinessProbe).toEqual({ exec, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 });
    expect(container.livenessProbe).toEqual({ exec, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3, initialDelaySeconds: 10 });
  });

  test('labels: app.kubernetes.io/* and livestack\'s own; the owner path as an annotation; no live hash on the pods', () => {
    const manifest = manifestOf();
    const spec = topology(manifest).find((s) => s.role === 'origin')!;
    const deployment = find(render(manifest).objects, 'Deployment', spec.name);
    expect(deployment.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'livestack',
      'app.kubernetes.io/instance': 'ls-tv-origin-main',
      'app.kubernetes.io/component': 'origin',
      'app.kubernetes.io/part-of': 'tv',
      'app.kubernetes.io/managed-by': 'livestack',
      [LABELS.managedBy]: 'livestack', [LABELS.account]: 'tv', [LABELS.role]: 'origin', [LABELS.specHash]: spec.specHash, [LABELS.liveHash]: spec.liveHash,
    });
    expect(deployment.metadata.annotations).toEqual({ [LABELS.owner]: 'test/tv/main' });
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'livestack', 'app.kubernetes.io/instance': 'ls-tv-origin-main' });
    expect(deployment.spec.template.metadata.labels).not.toHaveProperty(LABELS.liveHash);
  });

  test('a new locator changes only the live config ConfigMap: the pod template stays the same, so no pod restarts', () => {
    // GIVEN the app, and the app with a second locator on the same endpoint
    const before = render(manifestOf());
    const after = render(manifestOf({}, 3, (account) => account.allChannels[0].addProgram('late').publish(account.allEndpoints[0])));

    // THEN every Deployment's pod template is unchanged, and the origin's ConfigMap carries the new locator
    for (const name of ['ls-tv-ingest-news', 'ls-tv-origin-main', 'ls-tv-keys']) {
      expect(find(after.objects, 'Deployment', name).spec.template).toEqual(find(before.objects, 'Deployment', name).spec.template);
    }
    const live = (r: typeof before) => JSON.parse(find(r.objects, 'ConfigMap', 'ls-tv-origin-main-live').data['live-config.json']);
    expect(live(after).locators).toHaveLength(live(before).locators.length + 1);
    const env = find(after.objects, 'Deployment', 'ls-tv-origin-main').spec.template.spec.containers[0].env;
    expect(env.map((e) => e.name)).not.toContain(ENV.liveConfig);
    expect(env).toContainEqual({ name: ENV.liveConfigFile, value: '/etc/livestack/live/live-config.json' });
  });

  test('the NetworkPolicy lets the account\'s pods talk, and everyone else reach only the published ports', () => {
    const policy = find(render(manifestOf()).objects, 'NetworkPolicy', 'ls-tv-ingress') as NetworkPolicy;
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { [LABELS.account]: 'tv' } },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ podSelector: { matchLabels: { [LABELS.account]: 'tv' } } }] },
        { ports: [{ port: 1935, protocol: 'TCP' }, { port: 8090, protocol: 'TCP' }, { port: 8080, protocol: 'TCP' }] },
      ],
    });
  });

  test('with origin autoscaling: an autoscaler from scaleUnits to the maximum, and no replica count in the Deployment', () => {
    const { objects } = render(manifestOf({ originAutoscaling: { maxReplicas: 10 } }, 2));
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'ls-tv-origin-main') as HorizontalPodAutoscaler;
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ls-tv-origin-main' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    });
    expect(find(objects, 'Deployment', 'ls-tv-origin-main').spec).not.toHaveProperty('replicas');
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toHaveLength(1);
  });

  test('Service type and annotations per kind and per name; ClusterIP keeps the cluster\'s traffic policy', () => {
    const { objects } = render(manifestOf({
      services: { endpoint: { type: 'NodePort' }, keys: { type: 'ClusterIP' }, channels: { news: { type: 'LoadBalancer', annotations: { 'lb.example.com/class': 'rtmp' } } } },
    }));
    expect(find(objects, 'Service', 'ls-tv-origin-main').spec.type).toBe('NodePort');
    expect((find(objects, 'Service', 'ls-tv-keys') as Service).spec).not.toHaveProperty('externalTrafficPolicy');
    const ingest = find(objects, 'Service', 'ls-tv-ingest-news');
    expect(ingest.spec.type).toBe('LoadBalancer');
    expect(ingest.metadata.annotations).toEqual({ [LABELS.owner]: 'test/tv/news', 'lb.example.com/class': 'rtmp' });
  });

  test('requests grow with the ladder (per megapixel of a rung); what the account sets wins', () => {
    const requests = (options: KubernetesOptions, encoding?: Encoding) => {
      const manifest = manifestOf(options, 0, encoding ? (a) => a.addLiveChannel('extra', { port: 1936, encoding }) : undefined);
      const name = encoding ? 'ls-tv-ingest-extra' : 'ls-tv-ingest-news';
      return find(render(manifest).objects, 'Deployment', name).spec.template.spec.containers[0].resources;
    };
    const millicores = (r: ReturnType<typeof requests>) => Number(r.requests!.cpu!.replace('m', ''));
    const passthrough = requests({}, Encoding.passthrough());
    const hd = requests({});
    const fullHd = requests({}, Encoding.standard(EncodingPreset.default1080p()));
    expect(millicores(passthrough)).toBe(Math.ceil(INGEST_COST.baseMillicores / 10) * 10);
    expect(millicores(hd)).toBeGreaterThan(millicores(passthrough));
    expect(millicores(fullHd)).toBeGreaterThan(millicores(hd));
    expect(hd.limits).toEqual({ memory: expect.stringMatching(/^\d+Mi$/) });
    expect(requests({ resources: { ingest: { requests: { cpu: '2' }, limits: { cpu: '4' } } } })).toEqual({
      requests: { cpu: '2', memory: hd.requests!.memory }, limits: { cpu: '4', memory: hd.limits!.memory },
    });
  });

  test('the defaults are the table in BENCHMARKS.md', () => {
    const resources = (build?: (a: MediaAccount) => void) => {
      const { objects } = render(manifestOf({}, 0, build));
      return (name: string) => find(objects, 'Deployment', name).spec.template.spec.containers[0].resources;
    };
    const of = resources((a) => a.addLiveChannel('hd', { port: 1936, encoding: Encoding.standard(EncodingPreset.default1080p()) }));
    expect(of('ls-tv-ingest-news')).toEqual({ requests: { cpu: '850m', memory: '384Mi' }, limits: { memory: '768Mi' } });
    expect(of('ls-tv-ingest-hd')).toEqual({ requests: { cpu: '1860m', memory: '672Mi' }, limits: { memory: '1344Mi' } });
    expect(of('ls-tv-origin-main')).toEqual({ requests: { cpu: '130m', memory: '112Mi' }, limits: { memory: '480Mi' } });
    expect(of('ls-tv-keys')).toEqual({ requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '192Mi' } });
    const passthrough = resources((a) => a.addLiveChannel('raw', { port: 1937, encoding: Encoding.passthrough() }))('ls-tv-ingest-raw');
    expect(passthrough).toEqual({ requests: { cpu: '30m', memory: '144Mi' }, limits: { memory: '288Mi' } });
  });

  test('objects come in apply order, then by name, and render the same twice', () => {
    const manifest = manifestOf({ originAutoscaling: { maxReplicas: 5 } });
    const { objects } = render(manifest);
    expect([...new Set(objects.map((o) => o.kind))]).toEqual(['Namespace', 'PersistentVolumeClaim', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy', 'HorizontalPodAutoscaler']);
    expect(JSON.stringify(render(JSON.parse(JSON.stringify(manifest))).objects)).toBe(JSON.stringify(objects));
    expect(render(manifestOf({ createNamespace: false })).objects.some((o) => o.kind === 'Namespace')).toBe(false);
  });
});
