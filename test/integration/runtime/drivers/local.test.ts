import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { topology } from '../../../../lib/topology';
import { WorkloadSpec } from '../../../../lib/contract/workload-spec';
import { storagePaths } from '../../../../lib/contract/storage-layout';
import { LocalDriver } from '../../../../lib/runtime/drivers/local';
import { ObservedWorkload } from '../../../../lib/runtime/drivers/driver';
import { isTerminal } from '../../../../lib/runtime/errors';
import { findProcesses, identify } from '../../../../lib/runtime/process-identity';
import { testManifest } from '../../../../bench/support/manifest-fixtures';
import { eventually, median } from '../../../runtime/support/eventually';

const FAKE = path.join(__dirname, '..', 'fixtures', 'fake-workload.js');

/** The real specs of a manifest, running the stand-in workload instead of the data plane. */
function fake(spec: WorkloadSpec): WorkloadSpec {
  return { ...spec, command: [process.execPath, FAKE] };
}

async function info(spec: WorkloadSpec): Promise<Record<string, unknown> | undefined> {
  const port = new URL(spec.healthCheck.httpUrl).port;
  try {
    const response = await fetch(`http://127.0.0.1:${port}/info`, { signal: AbortSignal.timeout(1000) });
    return (await response.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function allRunning(driver: LocalDriver, count: number): Promise<ObservedWorkload[]> {
  return eventually(`${count} running workloads`, async () => {
    const observed = await driver.observe();
    return observed.length === count && observed.every((w) => w.phase === 'running') ? observed : undefined;
  });
}

describe('LocalDriver', () => {
  let stateDir: string;
  let driver: LocalDriver;
  let specs: WorkloadSpec[];
  let ingest: WorkloadSpec;
  let origin: WorkloadSpec;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-local-'));
    driver = new LocalDriver({ stateDir, env: { ...process.env, TF_VAR_news_key: 'not-for-logs' } });
    specs = topology(await testManifest({ streamKeyVariable: 'news_key' })).map(fake);
    ingest = specs.find((s) => s.role === 'ingest')!;
    origin = specs.find((s) => s.role === 'origin')!;
  });

  afterAll(async () => {
    for (const w of await driver.observe()) await driver.delete(w.name);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('creates a supervised process per workload with the local environment', async () => {
    // GIVEN the specs of one account (key service, ingest, origin)
    // WHEN each is created
    for (const spec of specs) await driver.create(spec);

    // THEN each answers with local storage, the loopback host and only the names of its own secrets
    const reported = await eventually('the ingest to answer', () => info(ingest));
    expect(reported).toMatchObject({
      storage: path.join(stateDir, 'accounts', ingest.account, 'storage'),
      listenHost: '127.0.0.1',
      upstreamHost: '127.0.0.1',
      secretsSet: ['LIVESTACK_SECRET_NEWS_KEY'],
      tfVarsSeen: [],
    });
    expect(await eventually('the origin to answer', () => info(origin))).toMatchObject({ secretsSet: [] });
    // AND observe reports them running with the hashes they were created from
    const observed = await allRunning(driver, specs.length);
    expect(observed.map((w) => [w.name, w.specHash, w.liveHash])).toEqual(specs.map((s) => [s.name, s.specHash, s.liveHash]));
    // AND the secret value is in no file of the state directory
    const files = fs.readdirSync(stateDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const file of files) expect(fs.readFileSync(path.join(file.parentPath, file.name), 'utf8')).not.toContain('not-for-logs');
  });

  test('a killed workload process comes back (kill -9), p50 repair under 2 s', async () => {
    // GIVEN a running origin
    const times: number[] = [];
    for (let trial = 0; trial < 5; trial++) {
      const before = (await eventually('the origin to answer', () => info(origin))).pid as number;
      // WHEN its process is killed with SIGKILL
      const killedAt = Date.now();
      process.kill(before, 'SIGKILL');
      // THEN a new process answers on the same port
      await eventually('a new origin process', async () => {
        const now = await info(origin);
        return now && now.pid !== before ? now : undefined;
      }, 10_000, 20);
      times.push(Date.now() - killedAt);
    }
    process.stdout.write(`local repair after kill -9 (ms): ${times.join(', ')}; p50 ${median(times)} ms\n`);
    expect(median(times)).toBeLessThanOrEqual(2_000);
    // AND observe counts the restarts
    const observed = await allRunning(driver, specs.length);
    expect(observed.find((w) => w.name === origin.name)!.restarts).toBeGreaterThanOrEqual(5);
  });

  test('updateLive delivers the control file without restarting the process', async () => {
    // GIVEN a running origin and its pid
    const before = (await eventually('the origin to answer', () => info(origin))).pid;
    const changed: WorkloadSpec = { ...origin, liveConfig: { locators: [], previews: [] }, liveHash: 'changedlivehash0' };

    // WHEN a new live config is delivered
    await driver.updateLive(changed);

    // THEN the same process reads it from the control file and observe reports the new live hash
    const after = await eventually('the new live config', async () => {
      const now = await info(origin);
      return now && JSON.stringify(now.live) === JSON.stringify({ locators: [], previews: [] }) ? now : undefined;
    });
    expect(after.pid).toBe(before);
    const storage = await driver.storageDir(origin.account);
    expect(JSON.parse(fs.readFileSync(storagePaths.controlFile(storage, origin.name), 'utf8'))).toEqual({ locators: [], previews: [] });
    expect((await driver.observe()).find((w) => w.name === origin.name)!.liveHash).toBe('changedlivehash0');
  });

  test('a killed supervisor is reported exited, and create replaces it without a duplicate', async () => {
    // GIVEN the key service's supervisor, killed with SIGKILL
    const keys = specs.find((s) => s.role === 'keys')!;
    const { supervisor, workload } = driver.processes(keys.name);
    process.kill(supervisor!, 'SIGKILL');

    // THEN observe reports it exited (nobody will restart it)
    await eventually('the key service to be reported exited', async () =>
      (await driver.observe()).find((w) => w.name === keys.name && w.phase === 'exited'));

    // WHEN it is created again
    await driver.create(keys);

    // THEN one supervisor runs it, and the old process no longer holds the port
    await allRunning(driver, specs.length);
    const dir = path.join(stateDir, 'workloads', keys.name);
    expect(findProcesses(['supervise', dir])).toHaveLength(1);
    expect(driver.processes(keys.name).workload).not.toBe(workload);
    expect(identify(workload!)).toBeUndefined();
  });

  test('fails to create a workload whose secret variable is missing, naming it, and starts nothing', async () => {
    // GIVEN a driver whose environment lacks TF_VAR_news_key
    const bare = new LocalDriver({ stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-local-')), env: { PATH: process.env.PATH } });

    // WHEN the ingest is created
    const error = await bare.create(ingest).catch((e: unknown) => e);

    // THEN a terminal error names the variable, and nothing was started
    expect(isTerminal(error)).toBe(true);
    expect((error as Error).message).toMatch(/TF_VAR_news_key/);
    expect(await bare.observe()).toEqual([]);
    fs.rmSync(bare.stateDir, { recursive: true, force: true });
  });

  test('a workload that stops answering its health check is restarted, and its log says it had been healthy and how the check failed', async () => {
    // GIVEN the origin, recreated with a fast health check, running and healthy
    const quick: WorkloadSpec = { ...origin, healthCheck: { ...origin.healthCheck, intervalSeconds: 1, timeoutSeconds: 1, startPeriodSeconds: 1, retries: 2 } };
    await driver.delete(origin.name);
    await driver.create(quick);
    const port = new URL(quick.healthCheck.httpUrl).port;
    const before = (await eventually('the origin to answer', () => info(quick))).pid as number;
    await eventually('the origin reported healthy', async () => ((await driver.observe()).find((w) => w.name === quick.name)?.phase === 'running' ? true : undefined));

    // WHEN its process wedges: up, but answering nothing
    await fetch(`http://127.0.0.1:${port}/hang`, { signal: AbortSignal.timeout(1000) });

    // THEN the supervisor replaces it
    const after = await eventually('a new origin process', async () => {
      const now = await info(quick);
      return now && now.pid !== before ? now : undefined;
    }, 20_000, 200);
    expect(after.pid).not.toBe(before);
    // AND the log tells "came up, then stopped answering" from "never came up", with what the probe got
    const log = await driver.logs(quick.name);
    expect(log).toMatch(/healthy \d+\.\d s after start\n(.*\n)*.*health check failed 2 times \(last: no answer within 1000 ms\); restarting the workload/);
  });

  test('delete stops every process and frees the ports', async () => {
    // GIVEN the running workloads and their pids
    const pids = specs.flatMap((s) => Object.values(driver.processes(s.name)));

    // WHEN each is deleted
    for (const spec of specs) await driver.delete(spec.name);

    // THEN no process is left, the ports are free and observe sees nothing
    for (const pid of pids) expect(identify(pid!)).toBeUndefined();
    for (const spec of specs) expect(await portIsFree(Number(new URL(spec.healthCheck.httpUrl).port))).toBe(true);
    expect(await driver.observe()).toEqual([]);
    // AND deleting again is not an error
    await driver.delete(ingest.name);
  });
});
