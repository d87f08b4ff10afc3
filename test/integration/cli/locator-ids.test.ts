/**
 * Locator ids as an operator meets them: `livestack apply` of one manifest (which names the locator
 * but carries no id) in two state directories. Each deployment's origin serves the locator under an
 * id of its own, `livestack status` shows it, and applying again keeps it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest } from '../../../lib/model/manifest';
import { CliResult, livestack } from '../../support/cli';
import { testManifest } from '../../../bench/support/manifest-fixtures';

jest.setTimeout(180_000);

const UUID = /\/([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\//;

function expectExit(result: CliResult, code: number): void {
  if (result.code !== code) throw new Error(`expected exit ${code}, got ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

describe('locator ids per deployment', () => {
  let dir: string;
  let manifestFile: string;
  let manifest: Manifest;
  const states: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-ids-'));
    // Key service and origin only (the channel is declared stopped); the locator without an id, as constructs write it.
    manifest = await testManifest({ channelState: 'stopped' });
    const { id: _dropped, ...locator } = manifest.accounts[0].locators[0];
    manifest = { ...manifest, accounts: [{ ...manifest.accounts[0], locators: [locator] }] };
    manifestFile = path.join(dir, 'livestack.manifest.json');
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  });

  afterAll(async () => {
    for (const stateDir of states) await livestack(['destroy', '--state-dir', stateDir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Applies the manifest in `stateDir`; returns the locator id `livestack status` shows and what the origin says to it. */
  async function deploy(stateDir: string): Promise<{ id: string; url: string; served: string }> {
    if (!states.includes(stateDir)) states.push(stateDir);
    expectExit(await livestack(['apply', '--manifest', manifestFile, '--state-dir', stateDir]), 0);
    const status = await livestack(['status', '--state-dir', stateDir]);
    expectExit(status, 0);
    const url = /HLS: (\S+)/.exec(status.stdout)?.[1];
    if (!url) throw new Error(`status shows no playback URL with an id:\n${status.stdout}`);
    const served = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
    return { id: UUID.exec(url)![1], url, served };
  }

  test('GIVEN one manifest WHEN applied in two state directories THEN each serves its own id, shown by status, kept on re-apply, found in no file of the app', async () => {
    const first = path.join(dir, 'state-a');
    const second = path.join(dir, 'state-b');

    const a = await deploy(first);
    const again = await deploy(first);
    expectExit(await livestack(['destroy', '--state-dir', first]), 0);
    const b = await deploy(second);

    // The origin knows the id status shows (an unknown id is answered "no such locator").
    for (const d of [a, again, b]) expect(d.served).not.toMatch(/no such locator/);
    expect((await fetch(b.url.replace(b.id, a.id), { signal: AbortSignal.timeout(5_000) })).status).toBe(404);
    // Stable for one deployment, different for another, and in nothing the app or the manifest holds.
    expect(again.id).toBe(a.id);
    expect(b.id).not.toBe(a.id);
    expect(fs.readFileSync(manifestFile, 'utf8')).not.toContain(a.id);
    expect(fs.readFileSync(manifestFile, 'utf8')).not.toContain(b.id);
  });
});
