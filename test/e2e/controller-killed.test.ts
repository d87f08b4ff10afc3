/**
 * The controller killed during a live event (local driver): `livestack up` is SIGKILLed while an
 * encoder pushes and a viewer plays. The workloads run under their own supervisors, so ingest,
 * recording and playback go on without a gap (no missing segment, no discontinuity, the same
 * transcoder run); `livestack plan` then has nothing to do, and a new `up` adopts every workload
 * without restarting one (same processes, same restart counts).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testManifest } from '../../bench/support/manifest-fixtures';
import { Manifest } from '../../lib/model/manifest';
import { desiredState } from '../../lib/runtime/desired-state';
import { localPaths, readState } from '../../lib/runtime/drivers/local-records';
import { eventually } from '../runtime/support/eventually';
import { CLI, expectExit, livestack } from '../support/cli';
import { processesOf } from '../support/process-table';
import { Encoder, readPlaylist, rtmpUrl, runFolders, startEncoder } from './support/ingest-support';

jest.setTimeout(180_000);

describe('the controller killed during a live event (local driver)', () => {
  let scratch: string;
  let stateDir: string;
  let manifestFile: string;
  let manifest: Manifest;
  const children: ChildProcess[] = [];
  let encoder: Encoder | undefined;

  function startUp(): { child: ChildProcess; output: () => string } {
    const child = spawn(process.execPath, [CLI, 'up', '--manifest', manifestFile, '--state-dir', stateDir], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    return { child, output: () => text };
  }

  const waitBanner = (output: () => string) => eventually('up to print its banner', () => (output().includes('livestack is up') ? true : undefined), 90_000, 100)
    .catch((error: Error) => { throw new Error(`${error.message}\n${output()}`); });

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-controller-kill-'));
    stateDir = path.join(scratch, 'state');
    manifest = await testManifest();
    manifestFile = path.join(scratch, 'livestack.manifest.json');
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  });

  afterAll(async () => {
    encoder?.stop();
    await encoder?.done;
    for (const child of children) if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
    await livestack(['destroy', '--state-dir', stateDir]);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('GIVEN a live push WHEN up is SIGKILLed THEN recording and playback continue without a gap, plan is empty and a new up adopts every workload unchanged', async () => {
    const account = manifest.accounts[0];
    const storage = localPaths.storageDir(stateDir, account.name);
    const specs = desiredState(manifest, manifestFile).specs;
    const first = startUp();
    await waitBanner(first.output);
    const key = fs.readFileSync(path.join(storage, 'secrets', 'news-key'), 'utf8').trim();
    encoder = startEncoder(rtmpUrl(manifest, 'news', key), { seconds: 150 });
    const segments = () => readPlaylist(storage, 'news-live', '180p')?.segments ?? [];
    await eventually('three recorded segments', () => (segments().length >= 3 ? true : undefined), 60_000, 200);
    const workloads = () => Object.fromEntries(specs.map((s) => {
      const state = readState(localPaths.workloadDir(stateDir, s.name));
      return [s.name, { pid: state?.child?.pid, restarts: state?.restarts }];
    }));
    const before = workloads();
    const runsBefore = runFolders(storage, 'news');
    const hls = `http://127.0.0.1:${account.endpoints[0].port}/${account.locators[0].id}/180p/index.m3u8`;

    // WHEN the controller dies without a chance to act
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    const countAtKill = segments().length;

    // THEN for 12 s without a controller, segments keep coming and a viewer keeps being served
    const served: number[] = [];
    while (Date.now() - killedAt < 12_000) {
      const response = await fetch(hls, { signal: AbortSignal.timeout(3_000) });
      served.push(response.status);
      await response.text();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    expect(served.every((status) => status === 200)).toBe(true);
    expect(segments().length).toBeGreaterThanOrEqual(countAtKill + 4);
    expect(processesOf(stateDir).some((p) => p.kind === 'ffmpeg')).toBe(true);

    // AND a plan finds nothing to do
    const plan = await livestack(['plan', '--manifest', manifestFile, '--state-dir', stateDir]);
    expectExit(plan, 0);

    // WHEN a new controller starts on the same state
    const second = startUp();
    await waitBanner(second.output);

    // THEN it adopted every workload: same processes, same restart counts, nothing created or replaced
    expect(second.output()).toContain(`Adopting ${specs.length} workloads`);
    expect(second.output()).not.toMatch(/^(Creating|Replacing) /m);
    expect(workloads()).toEqual(before);

    // AND the recording is whole: one transcoder run, contiguous sequence numbers and times, no discontinuity
    await eventually('two more segments under the new controller', () => (segments().length >= countAtKill + 8 ? true : undefined), 30_000, 200);
    expect(runFolders(storage, 'news')).toEqual(runsBefore);
    const recorded = segments();
    expect(recorded.some((s) => s.discontinuity)).toBe(false);
    for (let i = 1; i < recorded.length; i++) {
      expect(recorded[i].sequence).toBe(recorded[i - 1].sequence + 1);
      const expected = recorded[i - 1].programDateTimeMs! + recorded[i - 1].durationSeconds * 1000;
      expect(Math.abs(recorded[i].programDateTimeMs! - expected)).toBeLessThan(150);
    }

    second.child.kill('SIGTERM');
    await eventually('the second up to tear down', () => (second.child.exitCode !== null ? true : undefined), 60_000, 200);
  });
});
