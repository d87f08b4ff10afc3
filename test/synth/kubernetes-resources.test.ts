import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { MediaAccount, Platform, RuntimeImage, Secret } from '../../constructs';

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
