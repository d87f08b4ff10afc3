/**
 * `livestack up` tears down on every way a foreground run ends: `kill` (SIGTERM), its terminal closing
 * (SIGHUP to its process group), `up 2>&1 | tee log` whose tee died before Ctrl-C reached `up` (EPIPE),
 * and its stdout's reader going away on its own (noticed at the next line). Each run pushes a stream,
 * so supervisors, the node workloads, nginx and the transcoding ffmpeg all run; afterwards no process
 * of the state directory is left and its ports are free. Every run after the first starts on the
 * state directory the previous one left, with no cleanup in between. A SIGKILLed `up` cannot tear
 * down: its workloads keep running and the next `up` adopts them without restarting them.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest } from '../../lib/model/manifest';
import { desiredState } from '../../lib/runtime/desired-state';
import { localPaths, readState, readSupervisorPid } from '../../lib/runtime/drivers/local-records';
import { eventually } from '../runtime/support/eventually';
import { testManifest } from '../../bench/support/manifest-fixtures';
import { CLI } from '../support/cli';
import { portIsFree, processesOf, StackProcess } from '../support/process-table';
import { Encoder, rtmpUrl, startEncoder } from './support/ingest-support';

jest.setTimeout(120_000);

interface UpRun {
  readonly child: ChildProcess;
  /** What `up` wrote so far (stdout and stderr, as they arrived). */
  output(): string;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('livestack up ends cleanly however it is stopped', () => {
  let scratch: string;
  let stateDir: string;
  let manifestFile: string;
  let manifest: Manifest;
  let ports: number[];
  const started: ChildProcess[] = [];
  let encoder: Encoder | undefined;

  const upArgs = () => ['up', '--manifest', manifestFile, '--state-dir', stateDir];

  /** `livestack up` in its own process group, as a shell runs a foreground job. */
  function startUp(stdio: 'pipe' | 'stderr-only' = 'pipe'): UpRun {
    const child = spawn(process.execPath, [CLI, ...upArgs()], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    if (stdio === 'stderr-only') child.stdout!.on('error', () => undefined);
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { child, output: () => text, exited: () => exit };
  }

  async function waitUp(output: () => string): Promise<void> {
    await eventually('livestack up to print its banner', () => (output().includes('livestack is up') ? true : undefined), 60_000, 100)
      .catch((error: Error) => { throw new Error(`${error.message}\n--- up printed:\n${output()}`); });
  }

  /** Push a stream until the ingest's ffmpeg transcodes it: every kind of process is then running. */
  async function pushUntilTranscoding(): Promise<StackProcess[]> {
    const key = fs.readFileSync(path.join(localPaths.storageDir(stateDir, manifest.accounts[0].name), 'secrets', 'news-key'), 'utf8').trim();
    encoder = startEncoder(rtmpUrl(manifest, 'news', key), { seconds: 120 });
    return eventually('supervisors, workloads, nginx and ffmpeg of the stack', () => {
      const running = processesOf(stateDir);
      const kinds = new Set(running.map((p) => p.kind));
      return ['supervisor', 'workload', 'nginx', 'ffmpeg'].every((k) => kinds.has(k as StackProcess['kind'])) ? running : undefined;
    }, 30_000, 200);
  }

  async function stopEncoder(): Promise<void> {
    encoder?.stop();
    await encoder?.done;
    encoder = undefined;
  }

  /** Nothing of the state directory runs any more and every port of the stack is free. */
  async function expectNothingLeft(): Promise<void> {
    const left = await eventually('every process of the stack to exit', () => {
      const running = processesOf(stateDir);
      return running.length === 0 ? running : undefined;
    }, 20_000, 200).catch(() => processesOf(stateDir));
    expect(left.map((p) => `${p.kind} ${p.pid}: ${p.command}`)).toEqual([]);
    const taken: number[] = [];
    for (const port of ports) if (!(await portIsFree(port))) taken.push(port);
    expect(taken).toEqual([]);
  }

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-up-teardown-'));
    stateDir = path.join(scratch, 'state');
    manifestFile = path.join(scratch, 'livestack.manifest.json');
    manifest = await testManifest();
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    ports = desiredState(manifest, manifestFile).specs.flatMap((s) => [...s.ports.map((p) => p.hostPort), ...s.internalPorts]);
  });

  afterEach(async () => {
    await stopEncoder();
  });

  afterAll(async () => {
    for (const child of started) if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
    execFileSync(process.execPath, [CLI, 'destroy', '--state-dir', stateDir], { stdio: 'ignore' });
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('SIGTERM tears every workload down and frees the ports', async () => {
    // GIVEN up running with a stream pushed to its ingest
    const up = startUp();
    await waitUp(up.output);
    await pushUntilTranscoding();

    // WHEN it is sent SIGTERM
    up.child.kill('SIGTERM');

    // THEN it says what it does, ends normally, and nothing of the stack is left
    expect(await up.exited()).toEqual({ code: 0, signal: null });
    expect(up.output()).toContain('Received SIGTERM: tearing down every workload...');
    expect(up.output()).toContain('Stopped: every workload is down.');
    await expectNothingLeft();
  });

  test('SIGHUP to its process group (the terminal closed) tears down; this up started on the state left by the last one', async () => {
    const up = startUp();
    await waitUp(up.output);
    await pushUntilTranscoding();

    process.kill(-up.child.pid!, 'SIGHUP');

    expect(await up.exited()).toEqual({ code: 0, signal: null });
    expect(up.output()).toContain('Received SIGHUP: tearing down every workload...');
    expect(up.output()).toContain('Stopped: every workload is down.');
    await expectNothingLeft();
  });

  test('`up 2>&1 | tee log`: tee killed first, then Ctrl-C: the closed pipe does not stop the teardown', async () => {
    // GIVEN up piped into tee by a shell, as `npm start 2>&1 | tee start.log` runs it
    const log = path.join(scratch, 'tee.log');
    const shell = spawn('sh', ['-c', `"$0" "$@" 2>&1 | tee "${log}" >/dev/null`, process.execPath, CLI, ...upArgs()], { detached: true, stdio: 'ignore' });
    started.push(shell);
    const output = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
    await waitUp(output);
    const running = await pushUntilTranscoding();
    const upPid = running.find((p) => p.command.startsWith(`${process.execPath} ${CLI} up `))!.pid;
    const teePid = Number(execFileSync('pgrep', ['-P', String(shell.pid), '-x', 'tee'], { encoding: 'utf8' }).trim());

    // WHEN tee dies before up hears of the Ctrl-C (its next line meets a closed pipe)
    process.kill(teePid, 'SIGINT');
    await eventually('tee to exit', () => (processesOf(scratch).some((p) => p.pid === teePid) ? undefined : true), 5_000);
    process.kill(upPid, 'SIGINT');

    // THEN up still tears everything down (itself included), although none of its last lines got through
    await expectNothingLeft();
    expect(output()).not.toContain('Received SIGINT');
  });

  test('stdout closed on its own: up notices at its next line, says so on stderr and tears down', async () => {
    // GIVEN up whose stdout reader goes away (stderr still read)
    const up = startUp('stderr-only');
    await waitUp(up.output);
    await pushUntilTranscoding();
    up.child.stdout!.destroy();

    // WHEN it next has something to say: a workload died and its supervisor restarted it
    const keysDir = localPaths.workloadDir(stateDir, desiredState(manifest, manifestFile).specs.find((s) => s.role === 'keys')!.name);
    process.kill(readState(keysDir)!.child!.pid, 'SIGKILL');

    // THEN it tears down, saying why on stderr
    expect(await up.exited()).toEqual({ code: 0, signal: null });
    expect(up.output()).toMatch(/Its stdout closed \(EPIPE\): tearing down every workload\.\.\.\n[\s\S]*Stopped: every workload is down\./);
    await expectNothingLeft();
  });

  test('SIGKILL leaves the workloads running; the next up adopts them without restarting them, and SIGTERM then cleans up', async () => {
    // GIVEN up killed with SIGKILL (nothing can run then)
    const first = startUp();
    await waitUp(first.output);
    const specs = desiredState(manifest, manifestFile).specs;
    const supervisors = () => specs.map((s) => readSupervisorPid(localPaths.workloadDir(stateDir, s.name))?.pid);
    const before = supervisors();
    first.child.kill('SIGKILL');
    expect(await first.exited()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(processesOf(stateDir).filter((p) => p.kind === 'supervisor')).toHaveLength(specs.length);

    // WHEN up runs again on the same state directory
    const second = startUp();
    await waitUp(second.output);

    // THEN it says it adopts them and keeps the very same supervisors (no restart, no port conflict)
    expect(second.output()).toContain(`Adopting ${specs.length} workloads still running under ${stateDir}`);
    expect(second.output()).not.toMatch(/^Creating /m);
    expect(supervisors()).toEqual(before);

    second.child.kill('SIGTERM');
    expect(await second.exited()).toEqual({ code: 0, signal: null });
    await expectNothingLeft();
  });
});
