/**
 * The controller on the real local driver (real supervised processes). The workloads run the stand-in
 * program of fixtures/fake-workload.js: these tests are about reconciling, not about the data plane.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest } from '../../../lib/model/manifest';
import { Controller } from '../../../lib/runtime/controller';
import { DesiredState, desiredState } from '../../../lib/runtime/desired-state';
import { LocalDriver } from '../../../lib/runtime/drivers/local';
import { isTerminal } from '../../../lib/runtime/errors';
import { acquireLock, LockHeldError, lockFile } from '../../../lib/runtime/lock';
import { ItemExponentialBackoff, MaxOf, TokenBucket } from '../../../lib/runtime/rate-limiter';
import { readStatuses, statusFile } from '../../../lib/runtime/status';
import { WorkloadSpec } from '../../../lib/contract/workload-spec';
import { storagePaths } from '../../../lib/contract/storage-layout';
import { testManifest } from '../../../bench/support/manifest-fixtures';
import { eventually } from '../../runtime/support/eventually';

jest.setTimeout(60_000);

const FAKE = path.join(__dirname, 'fixtures', 'fake-workload.js');
/** How far ahead timer tests put a locator end or program start: a converge must fit before it, even on a loaded machine. */
const TIMER_LEAD_MS = 8_000;

/** The desired state of `manifest`, each workload running the stand-in program. */
function fakeDesired(manifest: Manifest): DesiredState {
  const real = desiredState(manifest, 'test manifest');
  const specs = real.specs.map((s): WorkloadSpec => ({ ...s, command: [process.execPath, FAKE] }));
  return { ...real, specs };
}

describe('Controller', () => {
  let stateDir: string;
  let driver: LocalDriver;
  let controller: Controller;
  const log: string[] = [];

  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-controller-'));
    driver = new LocalDriver({ stateDir, env: { ...process.env, TF_VAR_news_key: 'a-stream-key-never-logged' } });
    log.length = 0;
    controller = new Controller({ driver, stateDir, log: (line) => log.push(line) });
  });

  afterEach(async () => {
    await controller.destroy();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('converges, then a second pass plans nothing; log lines name what was done', async () => {
    const desired = fakeDesired(await testManifest());

    await controller.converge(desired, { waitReady: true, timeoutMs: 30_000 });
    const second = await controller.reconcile(desired);

    expect(second.plan.hasChanges).toBe(false);
    expect(second.plan.counts.keep).toBe(3);
    expect(log.filter((l) => l.startsWith('Created'))).toHaveLength(3);
    expect(log).toContainEqual(expect.stringMatching(/^Created ingest ls-\w+-ingest-news \(new workload\)$/));
  });

  test('persists status with conditions and generations, and no secret', async () => {
    // GIVEN an applied manifest
    const manifest = await testManifest({ streamKeyVariable: 'news_key' });
    await controller.converge(fakeDesired(manifest), { waitReady: true, timeoutMs: 30_000 });
    await controller.reconcile(fakeDesired(manifest));

    // THEN each workload is Ready, not Degraded, at generation 1
    const status = readStatuses(stateDir).get(manifest.accounts[0].name)!;
    expect(status.generation).toBe(1);
    for (const w of status.workloads) {
      expect(w.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([['Ready', 'True', 'Running'], ['Degraded', 'False', 'AsExpected']]);
      expect(w.observedGeneration).toBe(1);
    }
    const text = fs.readFileSync(statusFile(stateDir, manifest.accounts[0].name), 'utf8');
    expect(text).not.toContain('a-stream-key-never-logged');
    expect(text).not.toContain(manifest.accounts[0].locators[0].id);
    const readySince = status.workloads[0].conditions[0].lastTransitionTime;

    // WHEN the manifest changes (a new generation) and converges again
    const next = JSON.parse(JSON.stringify(manifest)) as Manifest;
    (next.accounts[0].endpoints[0] as { maxCacheAgeSeconds: number }).maxCacheAgeSeconds = 60;
    await controller.converge(fakeDesired(next), { waitReady: true, timeoutMs: 30_000 });

    // THEN the generation moves, and an untouched workload keeps its transition time
    const after = readStatuses(stateDir).get(manifest.accounts[0].name)!;
    expect(after.generation).toBe(2);
    const untouched = after.workloads.find((w) => w.name === status.workloads[0].name)!;
    expect(untouched.conditions[0].lastTransitionTime).toBe(readySince);
    expect(untouched.observedGeneration).toBe(2);
  });

  test('reports the ingest health the channel workload writes, and flags it Degraded when stale', async () => {
    // GIVEN a running channel whose ingest last reported a minute ago, with a publisher
    const manifest = await testManifest();
    const desired = fakeDesired(manifest);
    await controller.converge(desired, { waitReady: true, timeoutMs: 30_000 });
    const storage = await driver.storageDir(manifest.accounts[0].name);
    fs.mkdirSync(storagePaths.channelDir(storage, 'news'), { recursive: true });
    fs.writeFileSync(storagePaths.channelHealth(storage, 'news'), JSON.stringify({
      channel: 'news', publisherConnected: true, inputBitrateKbps: 2500, inputFrameRate: 30, lastSegmentAgeSeconds: 1,
      transcoderRestarts: 0, updatedAt: new Date(Date.now() - 60_000).toISOString(),
    }));

    // WHEN the controller passes
    const result = await controller.reconcile(desired);

    // THEN the ingest's status carries that health and says it is stale
    const ingest = result.statuses[0].workloads.find((w) => w.role === 'ingest')!;
    expect(ingest.ingestHealth).toMatchObject({ publisherConnected: true, inputBitrateKbps: 2500 });
    expect(ingest.conditions.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'IngestHealthStale' });
  });

  test('a missing secret is a terminal error: recorded, not retried until the desired state changes', async () => {
    // GIVEN a channel whose stream key variable is not set
    const bare = new Controller({ driver: new LocalDriver({ stateDir, env: { PATH: process.env.PATH } }), stateDir });
    const desired = fakeDesired(await testManifest({ streamKeyVariable: 'absent_key' }));

    // WHEN converging
    const error = await bare.converge(desired, { timeoutMs: 20_000 }).catch((e: unknown) => e);

    // THEN it stops at once with a terminal error naming the variable
    expect(isTerminal(error)).toBe(true);
    expect((error as Error).message).toMatch(/TF_VAR_absent_key/);
    // AND the next pass defers it instead of trying again, and status says why
    const pass = await bare.reconcile(desired);
    expect(pass.failed).toEqual([]);
    const ingest = pass.statuses[0].workloads.find((w) => w.role === 'ingest')!;
    expect(ingest.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'TerminalError' });
    expect(ingest.lastError).toMatchObject({ terminal: true });
    // AND the other workloads were created anyway (level-triggered: one bad workload blocks no other)
    expect((await driver.observe()).map((w) => w.role).sort()).toEqual(['keys', 'origin']);
  });

  test('wakes for a locator\'s end by itself and reports it expired', async () => {
    // GIVEN a locator that ends a few seconds from now (room for a converge on a loaded machine), watched
    const end = new Date(Date.now() + TIMER_LEAD_MS).toISOString();
    const manifest = await testManifest({ locatorEnd: end });
    const desired = fakeDesired(manifest);
    await controller.converge(desired, { waitReady: true, timeoutMs: 30_000 });
    expect(readStatuses(stateDir).get(manifest.accounts[0].name)!.locators[0].state).toBe('live');
    const stop = new AbortController();
    const watching = controller.watch(() => desired, { signal: stop.signal, resyncMs: 60_000 });

    // THEN shortly after the end (no resync is due for a minute) the status says expired
    await eventually('the locator to be reported expired', () =>
      (readStatuses(stateDir).get(manifest.accounts[0].name)!.locators[0].state === 'expired' ? true : undefined), TIMER_LEAD_MS + 3_000);
    stop.abort();
    await watching;
  });

  test('wakes for a program\'s start by itself and reports it recording', async () => {
    // GIVEN a program that starts a few seconds from now (room for a converge on a loaded machine), watched
    const manifest = await testManifest();
    const start = Date.now() + TIMER_LEAD_MS;
    (manifest.accounts[0].channels[0].programs[0] as { start?: string }).start = new Date(start).toISOString();
    const desired = fakeDesired(manifest);
    await controller.converge(desired, { waitReady: true, timeoutMs: 30_000 });
    const programState = () => readStatuses(stateDir).get(manifest.accounts[0].name)!.programs![0].state;
    expect(programState()).toBe('scheduled');
    const stop = new AbortController();
    const watching = controller.watch(() => desired, { signal: stop.signal, resyncMs: 60_000 });

    // THEN shortly after the start (no resync is due for a minute) the status says recording
    await eventually('the program to be reported recording', () => (programState() === 'recording' ? Date.now() : undefined), TIMER_LEAD_MS + 3_000)
      .then((seenAt) => expect(seenAt - start).toBeLessThan(2_000));
    stop.abort();
    await watching;
  });
});

describe('the controller lock', () => {
  test('refuses a second controller on the same state directory, naming the holder', () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-lock-'));
    const lock = acquireLock(stateDir, 'livestack apply (first)');

    expect(() => acquireLock(stateDir, 'livestack apply (second)')).toThrow(LockHeldError);
    expect(() => acquireLock(stateDir, 'second')).toThrow(new RegExp(`pid ${process.pid}: livestack apply \\(first\\)`));
    lock.release();
    acquireLock(stateDir, 'third').release();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('takes over a lock whose holder died', () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-lock-'));
    // A pid that cannot be alive (beyond pid_max) stands for a controller killed with SIGKILL.
    fs.writeFileSync(lockFile(stateDir), '4194305 1\nlivestack apply (killed)\n');

    const lock = acquireLock(stateDir, 'livestack apply (next)');

    expect(fs.readFileSync(lockFile(stateDir), 'utf8')).toContain('livestack apply (next)');
    lock.release();
    expect(fs.existsSync(lockFile(stateDir))).toBe(false);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
});

describe('rate limiting of retries', () => {
  test('backs off per workload, doubling to a cap, and starts over after a success', () => {
    const backoff = new ItemExponentialBackoff(250, 2_000);

    expect([1, 2, 3, 4, 5].map(() => backoff.when('ingest'))).toEqual([250, 500, 1_000, 2_000, 2_000]);
    expect(backoff.when('origin')).toBe(250);
    backoff.forget('ingest');
    expect(backoff.when('ingest')).toBe(250);
  });

  test('a global bucket slows a burst of failures across many workloads; the slower limiter wins', () => {
    const limiter = new MaxOf(new ItemExponentialBackoff(5, 60_000), new TokenBucket(10, 3));

    const delays = ['a', 'b', 'c', 'd', 'e'].map((item) => limiter.when(item, 1_000));

    expect(delays.slice(0, 3)).toEqual([5, 5, 5]);
    expect(delays[3]).toBeGreaterThanOrEqual(100);
    expect(delays[4]).toBeGreaterThan(delays[3]);
  });
});
