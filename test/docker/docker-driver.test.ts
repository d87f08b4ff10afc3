/**
 * The docker driver against a real Docker daemon and the real runtime image: the key service and an
 * origin of one account, created, observed, given a new live config, read from and deleted.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { topology } from '../../lib/topology';
import { LABELS } from '../../lib/contract/labels';
import { WorkloadSpec } from '../../lib/contract/workload-spec';
import { storagePaths } from '../../lib/contract/storage-layout';
import { Controller } from '../../lib/runtime/controller';
import { desiredState } from '../../lib/runtime/desired-state';
import { DockerDriver } from '../../lib/runtime/drivers/docker';
import { ObservedWorkload } from '../../lib/runtime/drivers/driver';
import { isTerminal } from '../../lib/runtime/errors';
import { containerCreateOptions } from '../../lib/runtime/drivers/docker-container-spec';
import { dockerContainer } from '../../lib/render/docker-container';
import { CREATED_START_GRACE_MS, observedFromInspect } from '../../lib/runtime/drivers/docker-observe';
import { contentHash } from '../../lib/util/stable-json';
import { eventually } from '../runtime/support/eventually';
import { PREPARE_TIMEOUT_MS, answersOk, dockerTestManifest, leftovers, prepareDocker, removeAccounts } from './support/docker-env';

jest.setTimeout(120_000);

describe('DockerDriver', () => {
  const docker = new Docker();
  let stateDir: string;
  let driver: DockerDriver;
  let account: string;
  let keys: WorkloadSpec;
  let origin: WorkloadSpec;
  let ingest: WorkloadSpec;

  beforeAll(async () => {
    const image = await prepareDocker();
    const manifest = await dockerTestManifest(image, { streamKeyVariable: 'news_key' });
    account = manifest.accounts[0].name;
    const specs = topology(manifest);
    [keys, origin, ingest] = ['keys', 'origin', 'ingest'].map((role) => specs.find((s) => s.role === role)!);
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-docker-'));
    driver = new DockerDriver({ stateDir, env: { ...process.env, TF_VAR_news_key: 'not-for-logs' } });
  }, PREPARE_TIMEOUT_MS);

  afterAll(async () => {
    await driver?.close();
    if (account) await removeAccounts(docker, [account]);
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  async function observed(name: string): Promise<ObservedWorkload | undefined> {
    return (await driver.observe()).find((w) => w.name === name);
  }

  test('creates labelled containers on the account network and volume, and observes them running', async () => {
    // WHEN the key service and the origin are created
    await driver.create(keys);
    await driver.create(origin);

    // THEN observe reports both running (their health checks pass) with the hashes they were created from
    const running = await eventually('both workloads running', async () => {
      const all = (await driver.observe()).filter((w) => w.account === account);
      return all.length === 2 && all.every((w) => w.phase === 'running') ? all : undefined;
    }, 60_000, 250);
    expect(running.map((w) => [w.name, w.role, w.specHash, w.liveHash])).toEqual([
      [keys.name, 'keys', keys.specHash, keys.liveHash],
      [origin.name, 'origin', origin.specHash, origin.liveHash],
    ]);
    // AND the origin answers on its published loopback port
    expect(await answersOk(origin.healthCheck.httpUrl)).toBe(true);
    // AND its container carries the spec's labels, its name as alias on the account network, the storage volume
    const info = await docker.getContainer(origin.name).inspect();
    expect(info.Config.Labels).toMatchObject(origin.labels);
    expect(info.NetworkSettings.Networks[origin.network].Aliases).toContain(origin.name);
    expect(info.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: `${account}-storage`, Destination: '/var/lib/livestack', RW: true })]);
    // AND the network and the volume it created are labelled as livestack's
    expect((await docker.getNetwork(origin.network).inspect()).Labels).toMatchObject({ [LABELS.managedBy]: 'livestack', [LABELS.account]: account });
    expect((await docker.getVolume(`${account}-storage`).inspect()).Labels).toMatchObject({ [LABELS.managedBy]: 'livestack', [LABELS.account]: account });
    // AND the origin got its live config through the control file in that volume
    const storage = await driver.storageDir(account);
    expect(JSON.parse(fs.readFileSync(storagePaths.controlFile(storage, origin.name), 'utf8'))).toEqual(origin.liveConfig);
  });

  test('updateLive delivers a new live config without restarting the container', async () => {
    // GIVEN the running origin
    const before = await docker.getContainer(origin.name).inspect();
    const live = { locators: [], previews: [] };
    const changed: WorkloadSpec = { ...origin, liveConfig: live, liveHash: contentHash(live) };

    // WHEN a live config without locators is delivered
    await driver.updateLive(changed);

    // THEN the same container reloads it (its log says so) and observe reports the new live hash
    await eventually('the origin to reload', async () => ((await driver.logs(origin.name)).includes('serving 0 locator(s)') ? true : undefined), 15_000, 200);
    const after = await docker.getContainer(origin.name).inspect();
    expect([after.Id, after.State.StartedAt, after.RestartCount]).toEqual([before.Id, before.State.StartedAt, before.RestartCount]);
    expect((await observed(origin.name))!.liveHash).toBe(changed.liveHash);
  });

  test('logs returns the last lines of a workload and names the known ones for an unknown name', async () => {
    const lines = (await driver.logs(keys.name, 5)).split('\n');
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines.join('\n')).toContain(`key service of account ${account} listening`);
    await expect(driver.logs('ls-nobody')).rejects.toThrow(new RegExp(`no docker workload named ls-nobody .*known: .*${keys.name}`));
  });

  test('fails to create a workload whose secret variable is missing, naming it, and starts nothing', async () => {
    // GIVEN a driver whose environment lacks TF_VAR_news_key, and the origin's container as it is
    const bare = new DockerDriver({ stateDir, env: { PATH: process.env.PATH } });
    const originBefore = await docker.getContainer(origin.name).inspect();

    // WHEN the ingest (whose stream key is that variable) is created
    const error = await bare.create(ingest).catch((e: unknown) => e);
    await bare.close();

    // THEN a terminal error names the variable, without any value
    expect(isTerminal(error)).toBe(true);
    expect((error as Error).message).toMatch(/TF_VAR_news_key/);
    expect((error as Error).message).not.toContain('not-for-logs');
    // AND no container was created, and the running origin was not touched
    expect(await observed(ingest.name)).toBeUndefined();
    expect((await docker.getContainer(origin.name).inspect()).State.StartedAt).toBe(originBefore.State.StartedAt);
  });

  test('fails to create a workload whose published port is taken, saying so, and leaves no container behind', async () => {
    // GIVEN a process of this host holding the port the ingest publishes
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(ingest.ports[0].hostPort, '127.0.0.1', () => resolve()));
    try {
      // WHEN the ingest is created
      const error = await driver.create(ingest).catch((e: unknown) => e);

      // THEN the error says the container could not start on that port, and no container is left
      expect((error as Error).message).toMatch(new RegExp(`starting container ${ingest.name}: .*${ingest.ports[0].hostPort}`));
      expect(await observed(ingest.name)).toBeUndefined();
    } finally {
      holder.close();
    }
  });

  test('a container created but never started (its creator stopped in between) is reported exited after a grace period, and create replaces it', async () => {
    // GIVEN the ingest's container, created as the driver creates it but never started
    const left = await docker.createContainer(containerCreateOptions(dockerContainer(ingest), { LIVESTACK_SECRET_NEWS_KEY: 'not-for-logs' }));
    const info = await left.inspect();

    // THEN it counts as starting at first, and as exited once the grace period has passed
    const created = Date.parse(info.Created);
    expect(observedFromInspect(info, undefined, created + 1_000).phase).toBe('starting');
    expect(observedFromInspect(info, undefined, created + CREATED_START_GRACE_MS + 1_000)).toMatchObject({ phase: 'exited', detail: expect.stringMatching(/never started/) });

    // WHEN the driver creates the workload
    await driver.create(ingest);

    // THEN a new container of that name runs
    const now = await docker.getContainer(ingest.name).inspect();
    expect(now.Id).not.toBe(info.Id);
    expect(now.State.Status).not.toBe('created');
    await driver.delete(ingest.name);
  });

  test('an unhealthy container is reported exited, and the controller replaces it', async () => {
    // GIVEN the key service, recreated with a health check that always fails (checked every second)
    const desired = desiredState(await dockerTestManifest(keys.image, { account, channelState: 'stopped' }), 'unhealthy test');
    const failingKeys: WorkloadSpec = {
      ...keys,
      healthCheck: { ...keys.healthCheck, command: ['CMD', 'false'], intervalSeconds: 1, retries: 1, startPeriodSeconds: 0 },
    };
    const sick = { ...desired, specs: [failingKeys, origin] };
    await driver.create(failingKeys);
    const sickId = (await docker.getContainer(keys.name).inspect()).Id;

    // THEN observe reports it exited once Docker marks it unhealthy (Docker itself would leave it so)
    const seen = await eventually('the key service to be reported unhealthy', async () => {
      const w = await observed(keys.name);
      return w?.phase === 'exited' ? w : undefined;
    }, 30_000, 250);
    expect(seen.detail).toMatch(/^unhealthy: health check failed/);

    // WHEN the controller reconciles
    const controller = new Controller({ driver, stateDir });
    const pass = await controller.reconcile(sick);

    // THEN it replaced the container as a repair
    expect(pass.plan.actions.find((a) => a.name === keys.name)).toMatchObject({ kind: 'replace', reason: expect.stringMatching(/^repair: unhealthy/) });
    expect((await docker.getContainer(keys.name).inspect()).Id).not.toBe(sickId);
  });

  test('delete stops and removes the containers and their control files; deleting again is fine', async () => {
    const storage = await driver.storageDir(account);

    // WHEN both workloads are deleted
    await driver.delete(keys.name);
    await driver.delete(origin.name);

    // THEN no container of the account is left, the control file is gone and the port is free
    expect((await driver.observe()).filter((w) => w.account === account)).toEqual([]);
    expect(fs.existsSync(storagePaths.controlFile(storage, origin.name))).toBe(false);
    expect(await answersOk(origin.healthCheck.httpUrl)).toBe(false);
    // AND deleting a workload that is gone is not an error
    await driver.delete(origin.name);
    // AND what remains of the account is its network and storage volume (kept: they hold recordings and keys)
    expect((await leftovers(docker, account)).sort()).toEqual([`network ${origin.network}`, `volume ${account}-storage`]);
  });
});
