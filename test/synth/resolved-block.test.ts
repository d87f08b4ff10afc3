import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, DefaultTokenResolver, StringConcat, TerraformResource, TerraformStack, TerraformVariable, Testing, Token, Tokenization } from 'cdktf';
import { MediaAccount, Platform, RuntimeImage, Secret } from '../../constructs';
import { ProviderResource } from '../../lib/synth/kubernetes-resources';
import { resolvedBlock } from '../../lib/synth/resolved-block';

/**
 * cdk.tf.json of a stack with a Docker account, a Kubernetes account of every object kind, and a
 * resource whose block holds undefined values, as `app.synth()` writes it.
 */
function synthesizedJson(): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-resolved-block-'));
  try {
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'test');
    const streamKey = new TerraformVariable(stack, 'stream_key', { type: 'string', sensitive: true });
    const docker = new MediaAccount(stack, 'onhost');
    docker.addLiveChannel('news').addProgram('live').publish(docker.addStreamingEndpoint('main'));
    const cluster = new MediaAccount(stack, 'oncluster', {
      keyDelivery: { port: 9090 },
      runtimeImage: RuntimeImage.fromName('registry.example.com/livestack/runtime:0.1.0'),
      platform: Platform.kubernetes({
        namespace: 'live', originAutoscaling: { maxReplicas: 4 }, tolerations: [{ key: 'media', operator: 'Exists', tolerationSeconds: 30 }],
        image: { pullSecrets: ['registry'] }, services: { endpoint: { type: 'LoadBalancer', annotations: { 'example.com/lb': 'nlb' } } },
      }),
    });
    cluster.addLiveChannel('news', { port: 2935, streamKey: Secret.fromVariable(streamKey) }).addProgram('live').publish(cluster.addStreamingEndpoint('main', { port: 9080, scaleUnits: 2 }));
    new ProviderResource(stack, 'sparse', 'kubernetes_config_map_v1', { metadata: { name: 'sparse', labels: undefined, annotations: { a: 'b', c: undefined } }, data: { list: [undefined, 'x', null] } });
    app.synth();
    return fs.readFileSync(path.join(outdir, 'stacks', 'test', 'cdk.tf.json'), 'utf8');
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('resolved blocks of Kubernetes resources', () => {
  afterEach(() => jest.restoreAllMocks());

  test('cdk.tf.json is byte for byte what cdktf writes when it resolves every resource itself', () => {
    // GIVEN the output with livestack's resolved blocks
    const fast = synthesizedJson();
    // WHEN the same app is synthesized with cdktf's own fragment of each resource, walked node by node
    jest.spyOn(ProviderResource.prototype, 'toTerraform').mockImplementation(function (this: ProviderResource) {
      return TerraformResource.prototype.toTerraform.call(this);
    });
    const walked = synthesizedJson();
    // THEN the bytes are the same
    expect(walked).toContain('"kubernetes_horizontal_pod_autoscaler_v2"');
    expect(fast).toBe(walked);
  });

  test('cdktf passes a token-free block through without walking it, and writes it as the plain block', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const block = resolvedBlock({ metadata: { name: 'x', labels: { a: '1' }, gone: undefined }, spec: { port: [{ port: 80, target_port: '80' }] }, wait: false });
    expect(block).toBeDefined();
    const resolved = Tokenization.resolve({ resource: { block } }, { scope: stack, preparing: false, resolver: new DefaultTokenResolver(new StringConcat()) });
    expect(resolved.resource.block).toBe(block);
    expect(JSON.parse(JSON.stringify(block))).toEqual({ metadata: { name: 'x', labels: { a: '1' } }, spec: { port: [{ port: 80, target_port: '80' }] }, wait: false });
  });

  test('a block that may hold a token is left to cdktf: string, number and list tokens, token keys, objects that are not plain', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const name = new TerraformVariable(stack, 'name', { type: 'string' });
    const count = new TerraformVariable(stack, 'count', { type: 'number' });
    const ports = new TerraformVariable(stack, 'ports', { type: 'list(number)' });
    for (const attributes of [
      { metadata: { name: name.stringValue } },
      { metadata: { name: `prefix-${name.stringValue}` } },
      { spec: { replicas: count.numberValue } },
      { spec: { label: `n${count.numberValue}` } },
      { spec: { ports: Token.asNumberList(ports.value) } },
      { spec: { ports: ports.listValue } },
      { data: { [name.stringValue]: 'v' } },
      { data: { when: new Date(0) } },
    ]) expect(resolvedBlock(attributes)).toBeUndefined();
  });

  test('tokens in a livestack resource still resolve to their Terraform expressions', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const name = new TerraformVariable(stack, 'name', { type: 'string' });
    const replicas = new TerraformVariable(stack, 'replicas', { type: 'number' });
    new ProviderResource(stack, 'tokens', 'kubernetes_config_map_v1', { metadata: { name: name.stringValue }, data: { replicas: replicas.numberValue } });
    const tf = JSON.parse(Testing.synth(stack));
    expect(tf.resource.kubernetes_config_map_v1.tokens).toEqual({ metadata: { name: '${var.name}' }, data: { replicas: '${var.replicas}' } });
  });

  test('overrides of a livestack resource still apply, from the resource and from the stack', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const resource = new ProviderResource(stack, 'cm', 'kubernetes_config_map_v1', { metadata: { name: 'cm', labels: { a: '1' } }, data: { k: 'v' } });
    resource.addOverride('metadata.labels.b', '2');
    stack.addOverride('resource.kubernetes_config_map_v1.cm.data.k', 'from-stack');
    const tf = JSON.parse(Testing.synth(stack));
    expect(tf.resource.kubernetes_config_map_v1.cm).toEqual({ metadata: { name: 'cm', labels: { a: '1', b: '2' } }, data: { k: 'from-stack' } });
  });
});
