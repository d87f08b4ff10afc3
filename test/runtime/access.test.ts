import { accessLines } from '../../lib/cli/access-text';
import { keyShowCommand } from '../../lib/cli/commands/deployment-access';
import { locatorId } from '../../lib/contract/locator-ids';
import { resolveAccess } from '../../lib/runtime/access';
import { accountAccessRecord } from '../../lib/topology/access-records';
import { topology } from '../../lib/topology';
import { testManifest } from '../../bench/support/manifest-fixtures';

describe('where to push and play', () => {
  test('GIVEN a deployment with its storage and id key THEN the lines name the ingest URL, the key file and command, and URLs with the derived id', async () => {
    const manifest = await testManifest({ account: 'demo' });
    const { id: _explicit, ...locator } = manifest.accounts[0].locators[0];
    const account = { ...manifest.accounts[0], locators: [locator] };
    const record = accountAccessRecord(account, topology({ ...manifest, accounts: [account] }));
    const access = resolveAccess([record], () => ({ storageDir: '/srv/demo', locatorIdKey: 'k'.repeat(32), keyCommand: (channel) => keyShowCommand('demo', channel, 'docker', { stateDir: '.livestack' }) }));
    const id = locatorId('k'.repeat(32), { account: 'demo', name: 'watch' });
    const text = accessLines(access).join('\n');
    expect(text).toContain(`RTMP ingest URL: rtmp://127.0.0.1:${account.channels[0].port}/live`);
    expect(text).toContain('stream key file: /srv/demo/secrets/news-key');
    expect(text).toContain('stream key command: npx livestack key show news --account demo --driver docker');
    expect(text).toContain(`locator watch (account demo, channel news, program live): id ${id}`);
    expect(text).toContain(`HLS: http://127.0.0.1:${account.endpoints[0].port}/${id}/index.m3u8`);
    expect(text).toContain(`DASH: http://127.0.0.1:${account.endpoints[0].port}/${id}/index.mpd`);
  });

  test('GIVEN no key yet and a variable stream key THEN the URLs keep <locator-id> and say when it is known; the key is the variable', async () => {
    const manifest = await testManifest({ account: 'demo', streamKeyVariable: 'news_key' });
    const { id: _explicit, ...locator } = manifest.accounts[0].locators[0];
    const account = { ...manifest.accounts[0], locators: [locator] };
    const access = resolveAccess([accountAccessRecord(account, topology({ ...manifest, accounts: [account] }))], () => ({}));
    const text = accessLines(access).join('\n');
    expect(text).toContain('stream key: the value of TF_VAR_news_key');
    expect(text).toMatch(/HLS: http:\/\/127\.0\.0\.1:\d+\/<locator-id>\/index\.m3u8/);
    expect(text).toContain('<locator-id> is known once a workload of the account has started');
  });

  test('the key command names the state directory and the manifest only when they are not the defaults', () => {
    expect(keyShowCommand('demo', 'news', 'local', { stateDir: '.livestack' })).toBe('npx livestack key show news --account demo');
    expect(keyShowCommand('demo', 'news', 'docker', { stateDir: '/tmp/my state', manifest: 'cdktf.out/stacks/x/livestack.manifest.json' }))
      .toBe("npx livestack key show news --account demo --driver docker --state-dir '/tmp/my state' --manifest cdktf.out/stacks/x/livestack.manifest.json");
  });
});
