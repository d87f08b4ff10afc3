/**
 * Where to push and where to play, as a user of the local driver reads it: `livestack apply` and
 * `livestack status` print the ingest URL, how to obtain the stream key (a file, a command: never the
 * key) and the locator's playback URLs with its id; `livestack key show` prints the key on purpose.
 * The test pushes to what was printed and plays what was printed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testManifest } from '../../../bench/support/manifest-fixtures';
import { Manifest } from '../../../lib/model/manifest';
import { expectExit, livestack } from '../../support/cli';
import { keyAsPrinted, parsePrinted, pushAndPlay } from '../../support/printed-access';

jest.setTimeout(240_000);

describe('where to push and play (local driver)', () => {
  let dir: string;
  let stateDir: string;
  let manifestFile: string;
  let manifest: Manifest;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-access-'));
    stateDir = path.join(dir, 'state');
    // As constructs write it: the locator without an id (derived at run time).
    manifest = await testManifest();
    const { id: _none, ...locator } = manifest.accounts[0].locators[0];
    manifest = { ...manifest, accounts: [{ ...manifest.accounts[0], locators: [locator] }] };
    manifestFile = path.join(dir, 'livestack.manifest.json');
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  });

  afterAll(async () => {
    if (stateDir) await livestack(['destroy', '--state-dir', stateDir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('GIVEN an applied app THEN apply and status print the ingest URL, the key command and the playback URLs, which take a push and play; the key is printed only by key show', async () => {
    const applied = await livestack(['apply', '--manifest', manifestFile, '--state-dir', stateDir], { timeoutMs: 180_000 });
    expectExit(applied, 0);
    const afterApply = parsePrinted(applied.stdout);
    const port = manifest.accounts[0].channels[0].port;
    expect(afterApply.rtmpUrl).toBe(`rtmp://127.0.0.1:${port}/live`);
    expect(afterApply.keyCommand).toEqual(['key', 'show', 'news', '--account', manifest.accounts[0].name, '--state-dir', stateDir]);
    expect(afterApply.hls).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\/index\.m3u8$/);

    const { key, result } = await keyAsPrinted(afterApply);
    expect(key).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(result.stderr).toBe('');
    expect(fs.readFileSync(afterApply.keyFile!, 'utf8').trim()).toBe(key);

    const status = await livestack(['status', '--state-dir', stateDir]);
    expectExit(status, 0);
    const fromStatus = parsePrinted(status.stdout);
    expect(fromStatus).toEqual(afterApply);
    const json = JSON.parse((await livestack(['status', '--json', '--state-dir', stateDir])).stdout) as { access: { ingest: { urls: { protocol: string; url: string }[] }[]; playback: { hls: string; dash: string; locatorId: string }[] } };
    expect(json.access.ingest[0].urls).toEqual([{ protocol: 'rtmp', url: afterApply.rtmpUrl }]);
    expect(json.access.playback[0]).toEqual(expect.objectContaining({ hls: afterApply.hls, dash: afterApply.dash, locatorId: expect.stringMatching(/^[0-9a-f-]{36}$/) }));

    // The key is in nothing but key show's output: not in apply's, status's (text or JSON), status files or applied records.
    const persisted = [
      path.join(stateDir, 'accounts', manifest.accounts[0].name, 'status.json'),
      ...fs.readdirSync(path.join(stateDir, 'applied')).map((f) => path.join(stateDir, 'applied', f)),
    ];
    for (const text of [applied.stdout, applied.stderr, status.stdout, JSON.stringify(json), ...persisted.map((f) => fs.readFileSync(f, 'utf8'))]) expect(text).not.toContain(key);
    // Status files hold no locator id either (status fills it in when it shows URLs).
    for (const file of persisted.filter((f) => f.endsWith('status.json'))) expect(fs.readFileSync(file, 'utf8')).not.toContain(json.access.playback[0].locatorId);

    expect(await pushAndPlay(afterApply.rtmpUrl, key, fromStatus.hls!)).toBeGreaterThan(20);
  });

  test('fails: key show of an unknown channel names the channels there are, and prints no key', async () => {
    const result = await livestack(['key', 'show', 'sports', '--state-dir', stateDir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/no running channel sports .*known: news \(account t[0-9a-f]+\)/);
  });
});
