import { Testing, TerraformStack } from 'cdktf';
import { Duration, MediaAccount } from '../../constructs';
import { Manifest } from '../../lib/model/manifest';
import { LivestackStackSynthesis } from '../../lib/synth/stack-synthesis';
import { ENV } from '../../lib/contract/workload-env';
import { LABELS } from '../../lib/contract/labels';
import { topology } from '../../lib/topology';
import { ingestLiveConfig, originConfig, originLiveConfig } from '../../lib/contract/workload-config';

function manifestOf(build: (account: MediaAccount) => void): Manifest {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  build(new MediaAccount(stack, 'demo'));
  return LivestackStackSynthesis.of(stack).render().manifest;
}

const basic = (account: MediaAccount) => {
  const endpoint = account.addStreamingEndpoint('main');
  account.addLiveChannel('news').addProgram('live').publish(endpoint);
};

describe('topology', () => {
  test('is deterministic: the same manifest gives byte-identical specs', () => {
    const manifest = manifestOf(basic);
    const copy = JSON.parse(JSON.stringify(manifest)) as Manifest;
    expect(JSON.stringify(topology(copy))).toEqual(JSON.stringify(topology(manifest)));
  });

  test('runs one key service per account, one ingest per running channel, one origin per endpoint', () => {
    const specs = topology(manifestOf(basic));
    expect(specs.map((s) => [s.name, s.role])).toEqual([
      ['ls-demo-ingest-news', 'ingest'],
      ['ls-demo-keys', 'keys'],
      ['ls-demo-origin-main-0', 'origin'],
    ]);
  });

  test('runs max(1, scaleUnits) origin replicas behind one balancer on the endpoint port', () => {
    for (const [scaleUnits, replicas] of [[0, 1], [1, 1], [3, 3]]) {
      const specs = topology(manifestOf((a) => a.addStreamingEndpoint('main', { scaleUnits })));
      const origins = specs.filter((s) => s.role === 'origin');
      expect(origins).toHaveLength(replicas);
      const published = specs.filter((s) => s.ports.some((p) => p.hostPort === 8080));
      expect(published).toHaveLength(1);
      expect(published[0].role).toBe(replicas > 1 ? 'balancer' : 'origin');
    }
  });

  test('internal ports stay below the ephemeral ranges, where another process\'s outgoing connection could hold them', () => {
    const specs = topology(manifestOf((a) => {
      const endpoint = a.addStreamingEndpoint('main', { scaleUnits: 3 });
      for (const name of ['news', 'sport', 'weather']) a.addLiveChannel(name, { port: name === 'news' ? undefined : 1900 + name.length }).addProgram('live').publish(endpoint);
    }));
    const internal = specs.flatMap((s) => s.internalPorts);

    expect(internal).toHaveLength(3 + 3);
    for (const port of internal) expect(port).toBeGreaterThanOrEqual(10000);
    for (const port of internal) expect(port).toBeLessThan(32768);
    expect(new Set(internal).size).toBe(internal.length);
  });

  test('omits workloads of stopped channels and endpoints', () => {
    const specs = topology(manifestOf((a) => {
      a.addStreamingEndpoint('main', { state: 'stopped' });
      a.addLiveChannel('news', { state: 'stopped' });
    }));
    expect(specs.map((s) => s.role)).toEqual(['keys']);
  });

  test('an ingest with SRT publishes its UDP port and names both encoder URLs, without a key', () => {
    const [ingest] = topology(manifestOf((a) => a.addLiveChannel('news', { protocols: ['rtmp', 'srt'], srt: { port: 9000 } })));

    expect(ingest.ports.map((p) => `${p.hostPort}/${p.protocol}`)).toEqual(['1935/tcp', '9000/udp']);
    expect(ingest.urls).toEqual(['rtmp://127.0.0.1:1935/live', 'srt://127.0.0.1:9000?streamid=publish:news']);
    expect(JSON.parse(ingest.env[ENV.config]).channel).toMatchObject({ protocols: ['rtmp', 'srt'], srt: { port: 9000, keyLength: 16, latencyMs: 120 } });
    // An SRT-only channel does not take RTMP: no TCP port, no RTMP URL.
    const [srtOnly] = topology(manifestOf((a) => a.addLiveChannel('news', { protocols: ['srt'] })));
    expect(srtOnly.ports.map((p) => `${p.hostPort}/${p.protocol}`)).toEqual(['1935/udp']);
    expect(srtOnly.urls).toEqual(['srt://127.0.0.1:1935?streamid=publish:news']);
  });

  test('labels every workload with account, role, owner and spec hash', () => {
    const [ingest] = topology(manifestOf(basic));
    expect(ingest.labels).toEqual({
      [LABELS.managedBy]: 'livestack',
      [LABELS.account]: 'demo',
      [LABELS.role]: 'ingest',
      [LABELS.owner]: 'test/demo/news',
      [LABELS.specHash]: ingest.specHash,
      [LABELS.liveHash]: ingest.liveHash,
    });
  });

  test('a program state change is a live change: same spec hash, new live hash', () => {
    const running = topology(manifestOf(basic)).find((s) => s.role === 'ingest')!;
    const stopped = topology(manifestOf((a) => {
      const endpoint = a.addStreamingEndpoint('main');
      a.addLiveChannel('news').addProgram('live', { state: 'stopped' }).publish(endpoint);
    })).find((s) => s.role === 'ingest')!;
    expect(stopped.specHash).toBe(running.specHash);
    expect(stopped.liveHash).not.toBe(running.liveHash);
    expect(ingestLiveConfig.parse(stopped.liveConfig).programs[0].state).toBe('stopped');
  });

  test('a ladder change replaces the ingest', () => {
    const a = topology(manifestOf(basic)).find((s) => s.role === 'ingest')!;
    const b = topology(manifestOf((acct) => acct.addLiveChannel('news', { keyFrameInterval: Duration.seconds(1) }).addProgram('live'))).find((s) => s.role === 'ingest')!;
    expect(b.specHash).not.toBe(a.specHash);
  });

  test('gives the origin its locators as live config, with a content key id for envelope locators', () => {
    const manifest = manifestOf(basic);
    const origin = topology(manifest).find((s) => s.role === 'origin')!;
    const { locators } = originLiveConfig.parse(origin.liveConfig);
    expect(locators).toEqual([expect.objectContaining({ name: manifest.accounts[0].locators[0].name, assetName: 'news-live', manifestName: 'manifest', protocols: ['hls', 'dash'], encryption: { type: 'none' } })]);
    // No id: the origin derives it from the account's key at run time (contract/locator-ids.ts).
    expect(locators[0].id).toBeUndefined();
    expect(originConfig.parse(JSON.parse(origin.env[ENV.config])).listenPort).toBe(8080);
  });
});
