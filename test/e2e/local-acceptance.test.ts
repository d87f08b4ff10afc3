/**
 * The runtime's acceptance on the local driver, as a user runs it: `livestack apply` of examples/basic,
 * a second `livestack plan` with nothing to do, a test stream published to the ingest URL playing
 * through the locator, and `livestack destroy` leaving nothing behind. (test/docker has the same on the
 * docker driver.) Uses the example's fixed ports.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest } from '../../lib/model/manifest';
import { loadApp } from '../../lib/runtime/desired-state';
import { LocalDriver } from '../../lib/runtime/drivers/local';
import { publishAndPlay } from '../support/basic-acceptance';
import { livestack } from '../support/cli';

jest.setTimeout(240_000);

const APP = path.join('examples', 'basic', 'main.ts');

describe('examples/basic on the local driver', () => {
  let stateDir: string;
  let manifest: Manifest;
  const runtime = (...args: string[]) => [...args, '--app', APP, '--state-dir', stateDir];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-local-basic-'));
    manifest = (await loadApp(APP)).manifest;
  });

  afterAll(async () => {
    await livestack(['destroy', '--state-dir', stateDir]);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('apply creates every workload, and a second plan has no actions', async () => {
    const applied = await livestack(runtime('apply'), { timeoutMs: 200_000 });
    expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
    expect(applied.stdout).toContain('Ready: 3 workloads running.');

    const planned = await livestack(runtime('plan'));
    expect(planned.code).toBe(0);
    expect(planned.stdout.trim()).toBe('No changes. 3 workloads up to date.');
  });

  test('a test stream published to the ingest URL plays through the locator', async () => {
    const account = manifest.accounts[0];

    const played = await publishAndPlay(account, await new LocalDriver({ stateDir }).storageDir(account.name));

    process.stdout.write(`local basic: played ${played.videoFrames} video and ${played.audioFrames} audio frames from ${played.masked}\n`);
    expect(played.videoFrames).toBeGreaterThanOrEqual(50);
    expect(played.audioFrames).toBeGreaterThan(0);
  });

  test('destroy stops every workload', async () => {
    const destroyed = await livestack(['destroy', '--state-dir', stateDir]);

    expect(destroyed.code).toBe(0);
    expect(await new LocalDriver({ stateDir }).observe()).toEqual([]);
  });
});
