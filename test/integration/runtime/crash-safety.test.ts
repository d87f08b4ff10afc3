/**
 * Crash safety: `livestack apply` killed with SIGKILL at random points (while it creates, replaces and
 * deletes workloads), then run again to completion, must leave exactly the desired workloads running:
 * no duplicate supervisor, no orphaned process, nothing missing. Real data-plane workloads (key service
 * and origins) on the local driver; the desired state alternates between two apps so that kills land in
 * creates, replaces and deletes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest } from '../../../lib/model/manifest';
import { desiredState } from '../../../lib/runtime/desired-state';
import { LocalDriver } from '../../../lib/runtime/drivers/local';
import { localPaths, readState } from '../../../lib/runtime/drivers/local-records';
import { findProcesses, identify } from '../../../lib/runtime/process-identity';
import { CLI, livestack } from '../../support/cli';
import { freePort, testManifest } from '../../../bench/support/manifest-fixtures';
import { spawn } from 'node:child_process';

jest.setTimeout(600_000);

const TRIALS = 20;

/** A small seeded generator, so a failing sequence can be replayed (the seed is printed). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pids of live processes whose working directory is inside `dir` (workloads run in their folder). */
function processesInside(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      if ((cwd === dir || cwd.startsWith(`${dir}/`) || cwd.includes(`${dir}/`)) && identify(Number(entry))) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/**
 * Starts `livestack apply` and SIGKILLs it `afterMs` after it starts acting (its first "Creating",
 * "Replacing" or "Deleting" line): timed from there, kills land inside creates, replaces and deletes
 * whatever the machine's load makes of start-up. Resolves when it is gone.
 */
function applyKilledAfter(args: string[], afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'apply', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let timer: NodeJS.Timeout | undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!timer && /^(Creating|Replacing|Deleting) /m.test(chunk.toString())) timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    // An apply with nothing to do never acts: it exits by itself.
    child.on('exit', () => {
      if (timer) clearTimeout(timer);
      resolve();
    });
  });
}

describe('crash safety of apply', () => {
  let dir: string;
  let stateDir: string;
  const files: string[] = [];
  const desired: Manifest[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-crash-'));
    stateDir = path.join(dir, 'state');
    // App A: key service + one origin. App B: other CORS origins (both replaced) and a second endpoint (created;
    // deleted again when A comes back).
    const a = await testManifest({ channelState: 'stopped' });
    const b = JSON.parse(JSON.stringify(a)) as Manifest;
    const account = b.accounts[0] as { endpoints: Record<string, unknown>[] };
    account.endpoints[0] = { ...account.endpoints[0], corsAllowedOrigins: ['https://player.example.com'] };
    account.endpoints.push({ ...account.endpoints[0], name: 'extra', path: `${b.accounts[0].path}/extra`, port: await freePort() });
    for (const [name, manifest] of [['a', a], ['b', b]] as const) {
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify(manifest));
      files.push(file);
      desired.push(manifest);
    }
  });

  afterAll(async () => {
    await livestack(['destroy', '--state-dir', stateDir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`converges after ${TRIALS} applies killed at random points, with no duplicate and no orphan`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    const next = random(seed);
    const driver = new LocalDriver({ stateDir });
    const killPoints: number[] = [];
    let interrupted = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const which = trial % 2;
      const args = ['--manifest', files[which], '--state-dir', stateDir];
      // GIVEN an apply killed at a random point of its work (its actions take most of a second here)
      const killAt = Math.round(next() * 700);
      killPoints.push(killAt);
      await applyKilledAfter(args, killAt);

      // WHEN apply runs again to completion
      const result = await livestack(['apply', ...args, '--timeout', '60', '--wait', '30']);
      if (result.code !== 0) throw new Error(`trial ${trial} (seed ${seed}, killed at ${killAt} ms): apply exited ${result.code}\n${result.stdout}\n${result.stderr}`);
      // (the kill cut the work short when the second apply still had something to do)
      if (!/Apply complete: 0 created, 0 replaced, 0 updated in place, 0 deleted/.test(result.stdout)) interrupted += 1;

      // THEN exactly the desired workloads run, with their desired specs
      const specs = desiredState(desired[which], files[which]).specs;
      const observed = await driver.observe();
      expect(observed.map((w) => `${w.name} ${w.specHash} ${w.phase}`)).toEqual(specs.map((s) => `${s.name} ${s.specHash} running`));
      // AND each has exactly one supervisor
      const owned = new Set<number>();
      for (const spec of specs) {
        const workloadDir = localPaths.workloadDir(stateDir, spec.name);
        const supervisors = findProcesses(['supervise', workloadDir]);
        expect({ workload: spec.name, supervisors: supervisors.length }).toEqual({ workload: spec.name, supervisors: 1 });
        owned.add(supervisors[0]);
        const child = readState(workloadDir)?.child?.pid;
        if (child) owned.add(child);
      }
      // AND no other process runs from the state directory (no orphan of a killed create or delete)
      const strays = processesInside(stateDir).filter((pid) => !owned.has(pid));
      expect({ trial, strays }).toEqual({ trial, strays: [] });
    }
    process.stdout.write(`crash safety: ${TRIALS} trials converged (seed ${seed}), ${interrupted} killed with work left; apply killed after ${killPoints.join(', ')} ms\n`);
    // The kills must really land inside applies, not only before or after them.
    expect(interrupted).toBeGreaterThanOrEqual(TRIALS / 4);
  });
});
