import { Testing, TerraformStack } from 'cdktf';
import { scryptSync } from 'node:crypto';
import { MediaAccount, Secret } from '../../constructs';
import { LivestackStackSynthesis } from '../../lib/synth/stack-synthesis';

describe('stream keys given in clear', () => {
  const STREAM_KEY = 'obs-studio-key-0f8e7d6c5b4a';

  function synth(streamKey: string | Secret) {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'test');
    new MediaAccount(stack, 'demo').addLiveChannel('news', { streamKey });
    const json = Testing.synth(stack, true);
    return { json, manifest: LivestackStackSynthesis.of(stack).render().manifest };
  }

  test('never appear in cdk.tf.json or the manifest; a salted scrypt hash verifies them', () => {
    // GIVEN a channel whose key is written in code
    const { json, manifest } = synth(STREAM_KEY);
    // THEN the key is nowhere in the output
    expect(json).not.toContain(STREAM_KEY);
    expect(JSON.stringify(manifest)).not.toContain(STREAM_KEY);
    // AND the manifest holds a hash that verifies it
    const ref = manifest.accounts[0].channels[0].streamKey;
    expect(ref.kind).toBe('hash');
    if (ref.kind !== 'hash') return;
    const derived = scryptSync(STREAM_KEY, Buffer.from(ref.salt, 'base64'), 32, { N: ref.cost });
    expect(derived.toString('base64')).toBe(ref.hash);
  });

  test('hash deterministically, so a second synth plans no change', () => {
    expect(synth(Secret.plainText(STREAM_KEY)).json).toEqual(synth(STREAM_KEY).json);
  });

  test('default to a key generated at run time (nothing secret in the output)', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'test');
    new MediaAccount(stack, 'demo').addLiveChannel('news');
    Testing.synth(stack, true);
    expect(LivestackStackSynthesis.of(stack).render().manifest.accounts[0].channels[0].streamKey).toEqual({ kind: 'generated', id: 'demo-news-stream-key' });
  });
});
