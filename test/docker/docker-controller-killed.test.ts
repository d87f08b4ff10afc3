/**
 * The controller killed during a live event on the docker driver: while an encoder pushes, a
 * `livestack apply` of a change (a new locator: the origin's live config, no restart) is SIGKILLed
 * right after it starts acting. The containers keep ingesting, recording and serving without a gap; a
 * plan afterwards proposes at most what the killed apply left undone (never a create or replace of a
 * running workload), a new apply finishes it, and every container is the one that ran before (same id,
 * same start time): adopted, not restarted.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Manifest } from '../../lib/model/manifest';
import { DockerDriver } from '../../lib/runtime/drivers/docker';
import { topology } from '../../lib/topology';
import { eventually } from '../runtime/support/eventually';
import { CLI, expectExit, livestack } from '../support/cli';
import { Encoder, readPlaylist, startEncoder } from '../e2e/support/ingest-support';
import { PREPARE_TIMEOUT_MS, dockerTestManifest, prepareDocker, removeAccounts } from './support/docker-env';

jest.setTimeout(300_000);

describe('the controller killed during a live event (docker driver)', () => {
  const docker = new Docker();
  let scratch: string;
  let stateDir: string;
  let manifest: Manifest;
  let encoder: Encoder | undefined;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const image = await prepareDocker();
    manifest = await dockerTestManifest(image);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-docker-kill-'));
    stateDir = path.join(scratch, 'state');
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    encoder?.stop();
    await encoder?.done;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (manifest) await removeAccounts(docker, [manifest.accounts[0].name]);
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  const write = (name: string, m: Manifest) => {
    const file = path.join(scratch, name);
    fs.writeFileSync(file, JSON.stringify(m));
    return file;
  };
  const runtime = (...args: string[]) => [...args, '--driver', 'docker', '--state-dir', stateDir];

  test('GIVEN a live push WHEN an apply is SIGKILLed mid-way THEN ingest, recording and playback go on, and the next apply adopts every container without restarting it', async () => {
    const account = manifest.accounts[0];
    expectExit(await livestack(runtime('apply', '--manifest', write('first.json', manifest)), { timeoutMs: 240_000 }), 0);
    const keyShown = await livestack(runtime('key', 'show', 'news'));
    expectExit(keyShown, 0);
    encoder = startEncoder(`rtmp://127.0.0.1:${account.channels[0].port}/live/${keyShown.stdout.trim()}`, { seconds: 200 });
    const driver = new DockerDriver({ stateDir });
    const storage = await driver.storageDir(account.name);
    await driver.close();
    const segments = () => readPlaylist(storage, 'news-live', '180p')?.segments ?? [];
    await eventually('three recorded segments', () => (segments().length >= 3 ? true : undefined), 90_000, 250);
    const names = topology(manifest).map((s) => s.name).sort();
    const identities = async () => Object.fromEntries(await Promise.all(names.map(async (n) => {
      const info = await docker.getContainer(n).inspect();
      return [n, `${info.Id} ${info.State.StartedAt}`] as const;
    })));
    const before = await identities();

    // WHEN an apply of a change (one more locator) is killed as soon as it acts
    const changed: Manifest = structuredClone(manifest);
    changed.accounts[0].locators.push({ ...changed.accounts[0].locators[0], name: 'second', path: `${account.path}/second`, id: randomUUID() });
    const second = write('second.json', changed);
    const apply = spawn(process.execPath, [CLI, ...runtime('apply', '--manifest', second)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(apply);
    let printed = '';
    apply.stdout!.on('data', (chunk: Buffer) => { printed += chunk.toString(); });
    await eventually('the apply to start acting', () => (/update|Updat/i.test(printed) || apply.exitCode !== null ? true : undefined), 60_000, 10);
    apply.kill('SIGKILL');
    const countAtKill = segments().length;

    // THEN with no controller for 8 s, the channel keeps recording and the origin keeps serving
    const playlist = `http://127.0.0.1:${account.endpoints[0].port}/${account.locators[0].id}/180p/index.m3u8`;
    for (let i = 0; i < 8; i++) {
      expect((await fetch(playlist, { signal: AbortSignal.timeout(3_000) })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    expect(segments().length).toBeGreaterThanOrEqual(countAtKill + 3);

    // AND a plan proposes nothing but live-config updates (what the killed apply may have left undone)
    const planned = await livestack(runtime('plan', '--manifest', second, '--json'));
    expect([0, 2]).toContain(planned.code);
    const actions = (JSON.parse(planned.stdout) as { actions: { kind: string; name: string }[] }).actions.filter((a) => a.kind !== 'keep');
    expect(actions.filter((a) => a.kind !== 'update')).toEqual([]);

    // WHEN a new apply runs THEN it converges, a plan is empty, and every container is the one that ran before
    expectExit(await livestack(runtime('apply', '--manifest', second), { timeoutMs: 120_000 }), 0);
    expectExit(await livestack(runtime('plan', '--manifest', second)), 0);
    expect(await identities()).toEqual(before);
    const listed = (await docker.listContainers({ all: true, filters: { label: [`livestack.account=${account.name}`] } })).map((c) => c.Names[0].replace(/^\//, '')).sort();
    expect(listed).toEqual(names);
    // The new locator is served, the recording has no gap and no discontinuity.
    const secondPlaylist = `http://127.0.0.1:${account.endpoints[0].port}/${changed.accounts[0].locators[1].id}/180p/index.m3u8`;
    await eventually('the new locator served', async () => ((await fetch(secondPlaylist)).status === 200 ? true : undefined), 30_000, 500);
    const recorded = segments();
    expect(recorded.some((s) => s.discontinuity)).toBe(false);
    for (let i = 1; i < recorded.length; i++) expect(recorded[i].sequence).toBe(recorded[i - 1].sequence + 1);

    expectExit(await livestack(runtime('destroy'), { timeoutMs: 120_000 }), 0);
  });
});
