/**
 * A stream key that nginx-rtmp cannot carry (from a Terraform variable, so no construct could check it)
 * stops the ingest at start with a message naming the variable — not the key — instead of refusing every
 * encoder later without saying why.
 */
import { startLocalStack } from '../../bench/support/local-stack';
import { eventually } from '../runtime/support/eventually';
import { ingestManifest, SMALL_LADDER } from './support/ingest-support';

jest.setTimeout(60_000);

test('fails to start an ingest whose stream key variable holds an unusable key, naming the variable and not the key', async () => {
  // GIVEN a channel whose stream key comes from TF_VAR_long_key, 300 characters long
  const key = 'k'.repeat(300);
  const manifest = await ingestManifest([{
    name: 'news', encoding: SMALL_LADDER, streamKey: { kind: 'variable', id: 'news-key', name: 'long_key' }, programs: [],
  }]);
  const stack = await startLocalStack(manifest, { env: { ...process.env, TF_VAR_long_key: key } });
  try {
    const ingest = stack.specs.find((s) => s.role === 'ingest')!;

    // THEN its log says which variable is wrong and what a stream key must be
    const log = await eventually('the ingest to refuse its key', async () => {
      const text = await stack.logs(ingest.name);
      return text.includes('is not usable') ? text : undefined;
    }, 30_000, 250);
    expect(log).toMatch(/the stream key of channel news \(Terraform variable long_key\) is not usable: it must be 8 to 254 of A-Z/);
    expect(log).not.toContain(key);
  } finally {
    await stack.stop();
  }
});
