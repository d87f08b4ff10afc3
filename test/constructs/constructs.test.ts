import { Testing, TerraformStack } from 'cdktf';
import {
  DeliveryEncryption, Duration, Encoding, EncodingPreset, KeyRestriction, MediaAccount, VerificationKey,
} from '../../constructs';
import { Manifest } from '../../lib/model/manifest';
import { locatorId } from '../../lib/contract/locator-ids';
import { createHash, randomBytes } from 'node:crypto';
import { LivestackStackSynthesis } from '../../lib/synth/stack-synthesis';

function render(build: (stack: TerraformStack) => void): Manifest {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  build(stack);
  Testing.synth(stack, true);
  return LivestackStackSynthesis.of(stack).render().manifest;
}

describe('defaults', () => {
  test('a channel with no props is a working 720p ladder on RTMP 1935 with a generated key', () => {
    // GIVEN / WHEN
    const manifest = render((stack) => new MediaAccount(stack, 'demo').addLiveChannel('news'));
    // THEN
    const channel = manifest.accounts[0].channels[0];
    expect(channel).toEqual(expect.objectContaining({
      name: 'news', protocols: ['rtmp'], port: 1935, state: 'running',
      streamKey: { kind: 'generated', id: 'demo-news-stream-key' },
      keyFrameIntervalSeconds: 2, segmentDurationSeconds: 4,
      ingestAllowList: [], previewAllowList: [],
    }));
    expect(channel.encoding).toEqual(expect.objectContaining({ type: 'standard', preset: 'Default720p', audioBitrateKbps: 128, speedPreset: 'veryfast' }));
    expect(channel.encoding.type === 'standard' && channel.encoding.ladder.map((r) => r.name)).toEqual(['720p', '540p', '360p']);
  });

  test('a channel with SRT takes it on its own port number over UDP, with libsrt\'s 120 ms latency and AES-128 unless told, and says where encoders go', () => {
    let urls: (string | undefined)[] = [];
    const manifest = render((stack) => {
      const account = new MediaAccount(stack, 'demo');
      const both = account.addLiveChannel('news', { protocols: ['rtmp', 'srt'] });
      const tuned = account.addLiveChannel('sport', { protocols: ['srt'], port: 1936, srt: { port: 9000, keyLength: 32, latency: Duration.millis(500) } });
      urls = [both.ingestUrl, both.srtIngestUrl, tuned.srtIngestUrl, account.addLiveChannel('talk', { port: 1937 }).srtIngestUrl];
    });

    const [news, sport, talk] = manifest.accounts[0].channels;
    expect(news).toEqual(expect.objectContaining({ protocols: ['rtmp', 'srt'], port: 1935, srt: { port: 1935, keyLength: 16, latencyMs: 120 } }));
    expect(sport).toEqual(expect.objectContaining({ protocols: ['srt'], port: 1936, srt: { port: 9000, keyLength: 32, latencyMs: 500 } }));
    expect(talk.srt).toBeUndefined();
    expect(urls).toEqual(['rtmp://127.0.0.1:1935/live', 'srt://127.0.0.1:1935?streamid=publish:news', 'srt://127.0.0.1:9000?streamid=publish:sport', undefined]);
  });

  test('an account binds to loopback, allows 5 channels and delivers keys on 8090', () => {
    const [account] = render((stack) => new MediaAccount(stack, 'demo')).accounts;
    expect(account).toEqual(expect.objectContaining({
      name: 'demo', bindAddress: '127.0.0.1', limits: { maxChannels: 5 },
      keyDelivery: { port: 8090, allowList: [], publicBaseUrl: undefined },
      storage: { volume: 'livestack-demo-storage' }, network: { name: 'livestack-demo' },
      image: expect.stringMatching(/^livestack\/runtime:\d+\.\d+\.\d+$/),
    }));
  });

  test('a port never depends on a sibling: every channel defaults to 1935 and every endpoint to 8080', () => {
    // GIVEN two channels and two endpoints, one of each with its own port, declared in either order
    const ports = (firstExplicit: boolean) => render((stack) => {
      const a = new MediaAccount(stack, 'demo');
      if (firstExplicit) a.addStreamingEndpoint('one', { port: 8081 });
      a.addStreamingEndpoint('two');
      if (!firstExplicit) a.addStreamingEndpoint('one', { port: 8081 });
      a.addLiveChannel('a', { port: 1936 }); a.addLiveChannel('b');
    }).accounts[0];
    // THEN each keeps its port whatever the order
    for (const account of [ports(true), ports(false)]) {
      expect(Object.fromEntries(account.endpoints.map((e) => [e.name, e.port]))).toEqual({ one: 8081, two: 8080 });
      expect(Object.fromEntries(account.channels.map((c) => [c.name, c.port]))).toEqual({ a: 1936, b: 1935 });
    }
  });

  test('fails on two channels left on the default port, saying which port to set', () => {
    expect(() => render((stack) => {
      const a = new MediaAccount(stack, 'demo');
      a.addLiveChannel('a'); a.addLiveChannel('b');
    })).toThrow(/test\/demo\/b: port: received 1935 \(channel ingest\).*test\/demo\/a \(channel ingest\) uses 1935 \(every channel defaults to the same port: set `port` on all but one\)/);
  });

  test('publish() without a policy uses the account default: clear HLS and DASH', () => {
    const [account] = render((stack) => {
      const a = new MediaAccount(stack, 'demo');
      a.addLiveChannel('news').addProgram('live').publish(a.addStreamingEndpoint('main'));
    }).accounts;
    expect(account.deliveryPolicies).toEqual([expect.objectContaining({ name: 'default-clear', protocols: ['hls', 'dash'], encryption: { type: 'none' } })]);
    expect(account.locators[0]).toEqual(expect.objectContaining({ name: 'news-live-locator-main', channel: 'news', program: 'live', endpoint: 'main', deliveryPolicy: 'default-clear' }));
    expect(account.channels[0].programs[0]).toEqual(expect.objectContaining({ assetName: 'news-live', manifestName: 'manifest', archiveWindowSeconds: 3600, state: 'running' }));
  });

  test('an envelope policy defaults to HLS only', () => {
    const [account] = render((stack) => {
      const a = new MediaAccount(stack, 'demo');
      a.addDeliveryPolicy('protected', { encryption: DeliveryEncryption.envelope(a.addKeyPolicy('viewers')) });
    }).accounts;
    expect(account.deliveryPolicies[0]).toEqual(expect.objectContaining({ protocols: ['hls'], encryption: { type: 'envelope', keyPolicy: 'viewers' } }));
    expect(account.keyPolicies[0].restriction).toEqual({ type: 'open' });
  });

  test('a token policy with only issuer and audience gets a generated HS256 key and a 30 s skew', () => {
    const [account] = render((stack) => new MediaAccount(stack, 'demo').addKeyPolicy('viewers', {
      restriction: KeyRestriction.token({ issuer: 'https://auth.example.com', audience: 'players' }),
    })).accounts;
    expect(account.keyPolicies[0].restriction).toEqual({
      type: 'token', issuer: 'https://auth.example.com', audience: 'players', algorithms: ['HS256'],
      keys: [{ kind: 'symmetric', kid: undefined, secret: { kind: 'generated', id: 'demo-viewers-jwt-key-0' } }],
      requiredClaims: {}, clockSkewSeconds: 30, requireExp: true, maxLifetimeSeconds: 86_400,
    });
  });
});

describe('custom props and verbs', () => {
  test('the URLs a user needs read from the constructs', () => {
    render((stack) => {
      const account = new MediaAccount(stack, 'demo');
      const endpoint = account.addStreamingEndpoint('main', { port: 9000 });
      const channel = account.addLiveChannel('news', { port: 2000 });
      const locator = channel.addProgram('live', { manifestName: 'index' }).publish(endpoint, { locatorId: '0b9c7f7e-1d2a-4c3b-8e4f-5a6b7c8d9e0f' });
      expect(channel.ingestUrl).toBe('rtmp://127.0.0.1:2000/live');
      expect(locator.hlsUrl).toBe('http://127.0.0.1:9000/0b9c7f7e-1d2a-4c3b-8e4f-5a6b7c8d9e0f/index.m3u8');
      expect(locator.dashUrl).toBe('http://127.0.0.1:9000/0b9c7f7e-1d2a-4c3b-8e4f-5a6b7c8d9e0f/index.mpd');
    });
  });

  test('default locator ids are in no synthesized file: derived at run time from a per-deployment key, stable for one key, distinct per locator and per key', () => {
    const build = (stack: TerraformStack) => {
      const a = new MediaAccount(stack, 'demo');
      const e = a.addStreamingEndpoint('main');
      const c = a.addLiveChannel('news');
      c.addProgram('live').publish(e);
      c.addProgram('late').publish(e);
    };
    const account = render(build).accounts[0];
    // The manifest names locators only: nothing in it (or in the app) determines an id.
    expect(account.locators.map((l) => l.id)).toEqual([undefined, undefined]);
    const ids = (key: string) => account.locators.map((l) => locatorId(key, { account: account.name, name: l.name }));
    const deployment = randomBytes(24).toString('base64url');
    const other = randomBytes(24).toString('base64url');
    expect(ids(deployment)).toEqual(ids(deployment));
    expect(new Set(ids(deployment)).size).toBe(2);
    expect(ids(other).filter((id) => ids(deployment).includes(id))).toEqual([]);
    for (const id of [...ids(deployment), ...ids(other)]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // The former derivation from the construct path (public in the app's repository) is not what is served.
    const pathDerived = createHash('sha256').update('livestack locator:test/demo/news/live/Locator-main').digest('hex').slice(0, 8);
    expect(ids(deployment)[0].startsWith(pathDerived)).toBe(false);
  });

  test('custom ladder, passthrough, durations as strings, time-bounded locator', () => {
    const [account] = render((stack) => {
      const a = new MediaAccount(stack, 'demo', { bindAddress: '0.0.0.0', limits: { maxChannels: 10 } });
      const e = a.addStreamingEndpoint('main', { scaleUnits: 2, cors: { allowedOrigins: ['https://player.example.com'] }, maxCacheAge: Duration.hours(1) });
      a.addLiveChannel('small', {
        keyFrameInterval: '1s', segmentDuration: '2s',
        encoding: Encoding.standard(EncodingPreset.custom({ ladder: [{ width: 426, height: 240, bitrateKbps: 400 }], audioBitrateKbps: 64 }), { speedPreset: 'ultrafast' }),
      }).addProgram('dvr', { archiveWindow: 'PT25H' }).publish(e, { start: new Date('2026-12-01T18:00:00Z'), end: '2026-12-01T20:00:00+01:00' });
      a.addLiveChannel('raw', { port: 1936, encoding: Encoding.passthrough() });
    }).accounts;
    expect(account.channels[0].encoding).toEqual({
      type: 'standard', preset: 'Custom', audioBitrateKbps: 64, speedPreset: 'ultrafast',
      ladder: [{ name: '240p', width: 426, height: 240, videoBitrateKbps: 400, profile: 'main' }],
    });
    expect(account.channels[0].programs[0].archiveWindowSeconds).toBe(90_000);
    expect(account.channels[1].encoding).toEqual({ type: 'passthrough' });
    expect(account.locators[0]).toEqual(expect.objectContaining({ start: '2026-12-01T18:00:00.000Z', end: '2026-12-01T19:00:00.000Z' }));
    expect(account.endpoints[0]).toEqual(expect.objectContaining({ scaleUnits: 2, corsAllowedOrigins: ['https://player.example.com'], maxCacheAgeSeconds: 3600 }));
  });

  test('a stopped program does not count against the 3 running programs', () => {
    const [account] = render((stack) => {
      const channel = new MediaAccount(stack, 'demo').addLiveChannel('news');
      for (const p of ['a', 'b', 'c']) channel.addProgram(p);
      channel.addProgram('archive', { state: 'stopped' });
    }).accounts;
    expect(account.channels[0].programs.map((p) => p.state)).toEqual(['running', 'running', 'running', 'stopped']);
  });

  test('RSA and EC public keys pin their own algorithms by default', () => {
    const { generateKeyPairSync } = require('node:crypto');
    const pem = (type: string, options: object) => generateKeyPairSync(type, options).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const [account] = render((stack) => new MediaAccount(stack, 'demo').addKeyPolicy('partners', {
      restriction: KeyRestriction.token({
        issuer: 'i', audience: 'a', requiredClaims: { tier: 'gold', sub: null },
        keys: [VerificationKey.publicKeyPem(pem('rsa', { modulusLength: 2048 }), { kid: 'r1' }), VerificationKey.publicKeyPem(pem('ec', { namedCurve: 'P-256' }), { kid: 'e1' })],
      }),
    })).accounts;
    const restriction = account.keyPolicies[0].restriction;
    expect(restriction.type === 'token' && restriction.algorithms).toEqual(['RS256', 'ES256']);
    expect(restriction.type === 'token' && restriction.requiredClaims).toEqual({ tier: 'gold', sub: null });
  });
});
