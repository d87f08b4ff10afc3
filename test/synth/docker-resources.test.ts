import { Testing, TerraformStack } from 'cdktf';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { MediaAccount, RuntimeImage } from '../../constructs';

function synth(build: (account: MediaAccount) => void, props: ConstructorParameters<typeof MediaAccount>[2] = {}): string {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  build(new MediaAccount(stack, 'demo', props));
  return Testing.synth(stack, true);
}

const basic = (account: MediaAccount) => {
  const endpoint = account.addStreamingEndpoint('main');
  account.addLiveChannel('news').addProgram('live').publish(endpoint);
};

describe('Docker resources', () => {
  test('a network and a storage volume per account', () => {
    const json = synth(basic);
    expect(json).toHaveResourceWithProperties(Network, { name: 'livestack-demo' });
    expect(json).toHaveResourceWithProperties(Volume, { name: 'livestack-demo-storage' });
  });

  test('the runtime image is built from images/Dockerfile with the base image as a build argument', () => {
    const json = synth(basic, { runtimeImage: RuntimeImage.build({ baseImage: 'livestack/base:bookworm-node20' }) });
    expect(json).toHaveResourceWithProperties(Image, {
      name: expect.stringMatching(/^livestack\/runtime:/),
      build: expect.objectContaining({ dockerfile: 'images/Dockerfile', build_args: { BASE_IMAGE: 'livestack/base:bookworm-node20' } }),
    });
  });

  test('an existing image is used as it is, without a build', () => {
    const json = JSON.parse(synth(basic, { runtimeImage: RuntimeImage.fromName('registry.example.com/livestack:1') }));
    expect(Object.values(json.resource.docker_image)).toEqual([expect.objectContaining({ name: 'registry.example.com/livestack:1' })]);
    expect(Object.values(json.resource.docker_image)[0]).not.toHaveProperty('build');
  });

  test('the ingest container publishes RTMP on the bind address, checks health and restarts', () => {
    const json = synth(basic);
    expect(json).toHaveResourceWithProperties(Container, {
      name: 'ls-demo-ingest-news',
      command: ['livestack', 'dataplane', 'ingest'],
      ports: [{ internal: 1935, external: 1935, ip: '127.0.0.1', protocol: 'tcp' }],
      restart: 'unless-stopped',
      healthcheck: expect.objectContaining({ test: ['CMD', 'livestack', 'probe', expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/healthz$/)] }),
      volumes: [expect.objectContaining({ container_path: '/var/lib/livestack' })],
    });
  });

  test('a channel with RTMP and SRT publishes one port number twice: TCP for RTMP, UDP for SRT', () => {
    const json = synth((a) => a.addLiveChannel('news', { protocols: ['rtmp', 'srt'] }));
    expect(json).toHaveResourceWithProperties(Container, {
      name: 'ls-demo-ingest-news',
      ports: [{ internal: 1935, external: 1935, ip: '127.0.0.1', protocol: 'tcp' }, { internal: 1935, external: 1935, ip: '127.0.0.1', protocol: 'udp' }],
    });
    const srtOnly = synth((a) => a.addLiveChannel('news', { protocols: ['srt'], srt: { port: 9000 } }));
    expect(srtOnly).toHaveResourceWithProperties(Container, { name: 'ls-demo-ingest-news', ports: [{ internal: 9000, external: 9000, ip: '127.0.0.1', protocol: 'udp' }] });
  });

  test('binds every published port to 0.0.0.0 when the account says so', () => {
    const json = JSON.parse(synth(basic, { bindAddress: '0.0.0.0' }));
    const ips = Object.values(json.resource.docker_container as Record<string, { ports?: { ip: string }[] }>).flatMap((c) => c.ports ?? []).map((p) => p.ip);
    expect(new Set(ips)).toEqual(new Set(['0.0.0.0']));
  });

  test('three scale units give three origin containers behind a balancer', () => {
    const json = JSON.parse(synth((a) => a.addStreamingEndpoint('main', { scaleUnits: 3 })));
    const names = Object.values(json.resource.docker_container as Record<string, { name: string }>).map((c) => c.name).sort();
    expect(names).toEqual(['ls-demo-balancer-main', 'ls-demo-keys', 'ls-demo-origin-main-0', 'ls-demo-origin-main-1', 'ls-demo-origin-main-2']);
  });

  test('adding a channel does not change the other containers', () => {
    const one = JSON.parse(synth(basic)).resource.docker_container;
    const two = JSON.parse(synth((a) => { basic(a); a.addLiveChannel('sports', { port: 1936 }); })).resource.docker_container;
    expect(two.ls_demo_ingest_news).toEqual(one.ls_demo_ingest_news);
    expect(two.ls_demo_keys).toEqual(one.ls_demo_keys);
  });
});
