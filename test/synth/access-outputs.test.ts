/**
 * Terraform outputs that tell a `cdktf deploy` user where to push and play: read from cdk.tf.json as
 * Terraform reads them (the `output` block).
 */
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { Duration, MediaAccount, Platform, RuntimeImage } from '../../constructs';

interface Output { value: string; description: string; sensitive?: boolean }

function outputs(build: (stack: TerraformStack) => void): Record<string, Output> {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  build(stack);
  return (JSON.parse(Testing.synth(stack, true)) as { output?: Record<string, Output> }).output ?? {};
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describe('Terraform outputs: where to push and play', () => {
  test('GIVEN the basic app THEN the ingest URL, the key command, the playback base and the locator URLs with <locator-id> are outputs', () => {
    const out = outputs((stack) => {
      const account = new MediaAccount(stack, 'demo');
      const endpoint = account.addStreamingEndpoint('main');
      account.addLiveChannel('news').addProgram('live', { archiveWindow: Duration.hours(2) }).publish(endpoint);
    });
    expect(out.demo__news_ingest_rtmp).toEqual({ value: 'rtmp://127.0.0.1:1935/live', description: expect.stringContaining('channel news') });
    expect(out.demo__news_stream_key_command.value).toMatch(/^npx livestack key show news --account demo --driver docker --manifest \S*livestack\.manifest\.json$/);
    expect(out.demo__news_stream_key_command.sensitive).toBeUndefined();
    expect(out.demo__main_playback_base.value).toBe('http://127.0.0.1:8080/');
    expect(out.demo__news_live_locator_main_hls.value).toBe('http://127.0.0.1:8080/<locator-id>/manifest.m3u8');
    expect(out.demo__news_live_locator_main_dash.value).toBe('http://127.0.0.1:8080/<locator-id>/manifest.mpd');
    expect(out.demo__news_live_locator_main_hls.description).toMatch(/npx livestack status --driver docker --manifest/);
    // No id is computable at synth: none is in any output.
    expect(JSON.stringify(out)).not.toMatch(UUID);
  });

  test('GIVEN a stream key from a sensitive variable THEN its output is the variable, marked sensitive, and the clear key is nowhere', () => {
    const out = outputs((stack) => {
      const key = new TerraformVariable(stack, 'stream_key', { type: 'string', sensitive: true });
      const account = new MediaAccount(stack, 'premium');
      account.addLiveChannel('match', { streamKey: key.stringValue });
    });
    expect(out.premium__match_stream_key).toEqual({ value: '${var.stream_key}', sensitive: true, description: expect.stringContaining('stream_key') });
    expect(out.premium__match_stream_key_command).toBeUndefined();
  });

  test('GIVEN a locator with an id set in the app THEN its URLs hold the id and are marked sensitive', () => {
    const id = '0b3c2a1e-5d6f-4a7b-9c8d-1e2f3a4b5c6d';
    const out = outputs((stack) => {
      const account = new MediaAccount(stack, 'demo');
      const endpoint = account.addStreamingEndpoint('main', { hostNames: ['live.example.com'] });
      account.addLiveChannel('news').addProgram('live').publish(endpoint, { locatorId: id });
    });
    const hls = Object.entries(out).find(([name]) => name.endsWith('_hls'))![1];
    expect(hls).toEqual({ value: `http://live.example.com:8080/${id}/manifest.m3u8`, sensitive: true, description: expect.any(String) });
    expect(out.demo__main_playback_base.value).toBe('http://live.example.com:8080/');
  });

  test('GIVEN a stopped channel THEN it has no ingest output (nothing listens)', () => {
    const out = outputs((stack) => {
      const account = new MediaAccount(stack, 'demo');
      account.addLiveChannel('news', { state: 'stopped' });
    });
    expect(Object.keys(out).filter((name) => name.includes('news'))).toEqual([]);
  });

  test('GIVEN a Kubernetes account THEN the outputs name the cluster Service and no docker command', () => {
    const out = outputs((stack) => {
      const account = new MediaAccount(stack, 'studio', { platform: Platform.kubernetes({ namespace: 'live', storage: { storageClassName: 'nfs', size: '10Gi' } }), runtimeImage: RuntimeImage.fromName('registry.example.com/livestack:1') });
      const endpoint = account.addStreamingEndpoint('main');
      account.addLiveChannel('news').addProgram('live').publish(endpoint);
    });
    expect(out.studio__news_ingest_rtmp.value).toMatch(/^rtmp:\/\//);
    expect(JSON.stringify(out)).not.toContain('--driver docker');
  });
});
