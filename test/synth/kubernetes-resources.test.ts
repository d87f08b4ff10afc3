import { Testing, TerraformResource, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { DeploymentV1 } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { HorizontalPodAutoscalerV2 } from '@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { NetworkPolicyV1 } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { PersistentVolumeClaimV1 } from '@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { ServiceV1 } from '@cdktf/provider-kubernetes/lib/service-v1';
import { MediaAccount, Platform, RuntimeImage, Secret } from '../../constructs';
import { kubernetesObjects } from '../../lib/render/kubernetes-objects';
import { providerAttributes, providerConfig, ProviderResource, secretConfig } from '../../lib/synth/kubernetes-resources';
import { LivestackStackSynthesis } from '../../lib/synth/stack-synthesis';
import { topology } from '../../lib/topology';

/** Synthesized cdk.tf.json of a stack with a Docker account and a Kubernetes account side by side. */
function synth(): Record<string, Record<string, Record<string, unknown>>> {
  const stack = new TerraformStack(Testing.app(), 'test');
  const streamKey = new TerraformVariable(stack, 'stream_key', { type: 'string', sensitive: true });
  const docker = new MediaAccount(stack, 'onhost');
  docker.addLiveChannel('news').addProgram('live').publish(docker.addStreamingEndpoint('main'));
  const cluster = new MediaAccount(stack, 'oncluster', {
    keyDelivery: { port: 9090 }, runtimeImage: RuntimeImage.fromName('registry.example.com/livestack/runtime:0.1.0'), platform: Platform.kubernetes({ namespace: 'live' }),
  });
  cluster.addLiveChannel('news', { port: 2935, streamKey: Secret.fromVariable(streamKey) }).addProgram('live').publish(cluster.addStreamingEndpoint('main', { port: 9080, scaleUnits: 2 }));
  return JSON.parse(Testing.synth(stack, true));
}

describe('@cdktf/provider-kubernetes output', () => {
  test('each account is rendered for its own platform: containers on Docker, Kubernetes objects on the cluster', () => {
    const tf = synth();
    expect(Object.values(tf.resource.docker_container).map((c) => (c as { name: string }).name).sort()).toEqual(['ls-onhost-ingest-news', 'ls-onhost-keys', 'ls-onhost-origin-main-0']);
    expect(Object.keys(tf.resource.kubernetes_deployment_v1).sort()).toEqual(['deployment_ls_oncluster_ingest_news', 'deployment_ls_oncluster_keys', 'deployment_ls_oncluster_origin_main']);
    expect(Object.keys(tf.provider).sort()).toEqual(['docker', 'kubernetes']);
  });

  test('the Secret is filled from the sensitive variable by Terraform, and the Deployment reads it by name', () => {
    const tf = synth();
    expect(tf.resource.kubernetes_secret_v1.secret_ls_oncluster_secrets).toMatchObject({
      metadata: { name: 'ls-oncluster-secrets', namespace: 'live' }, data: { stream_key: '${var.stream_key}' }, type: 'Opaque',
    });
    const deployment = tf.resource.kubernetes_deployment_v1.deployment_ls_oncluster_ingest_news as { spec: { template: { spec: { container: { env: unknown[] }[] } } }; depends_on: string[] };
    expect(deployment.spec.template.spec.container[0].env).toContainEqual({
      name: 'LIVESTACK_SECRET_ONCLUSTER_NEWS_STREAM_KEY', value_from: { secret_key_ref: { name: 'ls-oncluster-secrets', key: 'stream_key' } },
    });
    // AND Terraform creates what the pods need first
    expect(deployment.depends_on).toEqual(expect.arrayContaining([
      'kubernetes_namespace_v1.namespace_live', 'kubernetes_persistent_volume_claim_v1.persistentvolumeclaim_ls_oncluster_storage',
      'kubernetes_secret_v1.secret_ls_oncluster_secrets', 'kubernetes_config_map_v1.configmap_ls_oncluster_ingest_news_live',
    ]));
  });

  test('the provider\'s own forms: replica counts and ports as strings, a claim that does not wait to be bound', () => {
    const tf = synth();
    const origin = tf.resource.kubernetes_deployment_v1.deployment_ls_oncluster_origin_main as { spec: { replicas: string; strategy: unknown } };
    expect(origin.spec.replicas).toBe('2');
    expect(origin.spec.strategy).toEqual({ type: 'RollingUpdate', rolling_update: { max_surge: '1', max_unavailable: '0' } });
    expect(tf.resource.kubernetes_persistent_volume_claim_v1.persistentvolumeclaim_ls_oncluster_storage).toMatchObject({ wait_until_bound: false });
    expect(tf.resource.kubernetes_service_v1.service_ls_oncluster_origin_main).toMatchObject({ spec: { port: [{ name: 'http', port: 9080, target_port: '9080', protocol: 'TCP' }] } });
  });
});

/** The provider's generated class of each resource type. */
const CLASSES: Record<string, new (scope: Construct, id: string, config: never) => TerraformResource> = {
  kubernetes_namespace_v1: NamespaceV1,
  kubernetes_persistent_volume_claim_v1: PersistentVolumeClaimV1,
  kubernetes_config_map_v1: ConfigMapV1,
  kubernetes_secret_v1: SecretV1,
  kubernetes_deployment_v1: DeploymentV1,
  kubernetes_service_v1: ServiceV1,
  kubernetes_network_policy_v1: NetworkPolicyV1,
  kubernetes_horizontal_pod_autoscaler_v2: HorizontalPodAutoscalerV2,
};

test('every resource is written exactly as the provider\'s own class writes it from the same config', () => {
  // GIVEN every kind of object a Kubernetes account renders (autoscaler and Secret included)
  const stack = new TerraformStack(Testing.app(), 'test');
  const streamKey = new TerraformVariable(stack, 'stream_key', { type: 'string', sensitive: true });
  const account = new MediaAccount(stack, 'tv', {
    runtimeImage: RuntimeImage.fromName('registry.example.com/livestack/runtime:0.1.0'),
    platform: Platform.kubernetes({ originAutoscaling: { maxReplicas: 4 }, tolerations: [{ key: 'media', operator: 'Exists', tolerationSeconds: 30 }], image: { pullSecrets: ['registry'] } }),
  });
  account.addLiveChannel('news', { streamKey: Secret.fromVariable(streamKey) }).addProgram('live').publish(account.addStreamingEndpoint('main', { scaleUnits: 2 }));
  const manifest = LivestackStackSynthesis.of(stack).render().manifest;
  const [tv] = manifest.accounts;
  const rendering = kubernetesObjects({ name: tv.name, platform: tv.platform as never }, topology(manifest));
  const configs = [...rendering.objects.map(providerConfig), ...rendering.secrets.map((s) => ({ type: 'kubernetes_secret_v1', config: secretConfig(s) }))];
  expect(new Set(configs.map((c) => c.type))).toEqual(new Set(Object.keys(CLASSES)));

  // WHEN each is written by the provider's class and by livestack's resource, side by side
  const check = new TerraformStack(Testing.app(), 'check');
  configs.forEach(({ type, config }, i) => {
    new CLASSES[type](check, `class${i}`, config as never);
    new ProviderResource(check, `light${i}`, type, providerAttributes(type, config));
  });
  const tf = JSON.parse(Testing.synth(check)).resource as Record<string, Record<string, Record<string, unknown>>>;

  // THEN both write the same attributes
  configs.forEach(({ type }, i) => {
    const { '//': _a, ...byClass } = tf[type][`class${i}`];
    const { '//': _b, ...byLivestack } = tf[type][`light${i}`];
    expect(byLivestack).toEqual(byClass);
  });
});
