/**
 * scripts/setup.sh as a new user meets it: one line per step that has work to do (with the package
 * names), nothing at all with --quiet when everything is in place, and npm's and apt's own output kept
 * in a log file that is named, with its last lines, when a step fails.
 *
 * Runs the real script in a sandbox holding what it reads: package.json, package-lock.json, an npm
 * install stamp, a compiled dist/ and the SRT listener's source, script and a binary newer than both (so
 * the npm and build steps have nothing to do; test/e2e/npm-start runs those for real on a fresh clone). A `dpkg-query` shim on PATH reports one installed package as
 * missing and asks the real dpkg-query about every other: the script then runs the real apt-get update
 * and apt-get install. Only the failure cases put a failing command (apt-get, npm) or a non-root `id` first
 * on PATH.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../support/cli';

jest.setTimeout(300_000);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const NATIVE_SOURCE = 'lib/dataplane/ingest/native/srt-listener.c';
const NATIVE_BINARY = 'build/native/livestack-srt-listener';

describe('scripts/setup.sh', () => {
  let scratch: string;
  let sandbox: string;
  let shims: string;
  let tmp: string;

  function shim(name: string, script: string): void {
    fs.writeFileSync(path.join(shims, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  }

  function setup(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [path.join(sandbox, 'scripts', 'setup.sh'), ...args], {
        env: { ...process.env, PATH: `${shims}:${process.env.PATH}`, TMPDIR: tmp, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const logsLeft = () => fs.readdirSync(tmp).filter((f) => f.startsWith('livestack-setup.'));

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-setup-test-'));
    sandbox = path.join(scratch, 'repo');
    shims = path.join(scratch, 'bin');
    tmp = path.join(scratch, 'tmp');
    for (const dir of [path.join(sandbox, 'scripts'), path.join(sandbox, 'node_modules'), path.join(sandbox, 'dist', 'lib', 'cli'), path.dirname(path.join(sandbox, NATIVE_SOURCE)), path.dirname(path.join(sandbox, NATIVE_BINARY)), shims, tmp]) {
      fs.mkdirSync(dir, { recursive: true });
    }
    for (const file of ['scripts/setup.sh', 'scripts/build-native.sh', NATIVE_SOURCE]) fs.copyFileSync(path.join(ROOT, file), path.join(sandbox, file));
    for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, file), path.join(sandbox, file));
    const lock = createHash('sha256').update(fs.readFileSync(path.join(ROOT, 'package-lock.json'))).digest('hex');
    fs.writeFileSync(path.join(sandbox, 'node_modules', '.livestack-lock'), `${lock}\n`);
    fs.writeFileSync(path.join(sandbox, 'dist', 'lib', 'cli', 'main.js'), '');
    const built = new Date(Date.now() + 60_000);
    fs.writeFileSync(path.join(sandbox, 'dist', '.tsbuildinfo'), '');
    fs.utimesSync(path.join(sandbox, 'dist', '.tsbuildinfo'), built, built);
    fs.writeFileSync(path.join(sandbox, NATIVE_BINARY), '', { mode: 0o755 });
    fs.utimesSync(path.join(sandbox, NATIVE_BINARY), built, built);
    // dpkg-query, except that the packages named in LIVESTACK_TEST_MISSING read as not installed.
    shim('dpkg-query', 'for p in $LIVESTACK_TEST_MISSING; do for a in "$@"; do [ "$a" = "$p" ] && exit 1; done; done\nexec /usr/bin/dpkg-query "$@"');
  });

  afterEach(() => {
    for (const name of ['apt-get', 'npm', 'id', 'sudo']) fs.rmSync(path.join(shims, name), { force: true });
    for (const file of logsLeft()) fs.rmSync(path.join(tmp, file));
  });

  afterAll(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('prints nothing with --quiet when nothing needs doing, and one line without it', async () => {
    expect(await setup(['--quiet', '--with', 'bench'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await setup(['--with', 'bench'])).toEqual({ code: 0, stdout: 'setup: everything is in place (npm packages, Debian packages, dist/, the SRT listener)\n', stderr: '' });
  });

  test('an SRT listener older than its source: built with the real compiler, a line before and one after', async () => {
    const binary = path.join(sandbox, NATIVE_BINARY);
    const saved = fs.statSync(binary).mtime;
    fs.utimesSync(binary, new Date(0), new Date(0));
    try {
      const run = await setup(['--quiet']);

      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('setup: building the SRT listener (build/native/livestack-srt-listener: gcc on libsrt)');
      expect(lines[1]).toMatch(/^setup: SRT listener built in \d+ s$/);
      expect(lines).toHaveLength(2);
      expect(fs.statSync(binary).size).toBeGreaterThan(10_000);
      expect(await setup(['--quiet'])).toEqual({ code: 0, stdout: '', stderr: '' });
    } finally {
      fs.utimesSync(binary, saved, saved);
    }
  });

  test('a missing Debian package: a line per step with its name, the real apt-get runs, its output stays out of the way', async () => {
    // GIVEN wrk reads as not installed
    // WHEN setup runs quietly for the benchmarks
    const run = await setup(['--quiet', '--with', 'bench'], { LIVESTACK_TEST_MISSING: 'wrk' });

    // THEN it names each step before running it, and its outcome after
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'setup: missing Debian packages: wrk',
      'setup: refreshing the Debian package lists (apt-get update)',
      'setup: installing wrk and their dependencies (apt-get install; a minute or two on a fresh machine)',
    ]);
    expect(lines[3]).toMatch(/^setup: Debian packages installed: wrk \(0 newly installed\) in \d+ s$/);
    expect(lines).toHaveLength(4);
    // (apt's own lines went to the log, which is removed after a success)
    expect(logsLeft()).toEqual([]);
    expect(fs.existsSync('/usr/sbin/policy-rc.d')).toBe(false);
  });

  test('fails if apt-get fails: the log file is named and its last lines are shown', async () => {
    shim('apt-get', 'echo "Reading package lists..."\necho "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2\nexit 100');

    const run = await setup(['--quiet', '--with', 'bench'], { LIVESTACK_TEST_MISSING: 'wrk hyperfine' });

    expect(run.code).toBe(100);
    expect(run.stdout).toBe([
      'setup: missing Debian packages: wrk hyperfine',
      'setup: refreshing the Debian package lists (apt-get update)',
      '',
    ].join('\n'));
    const [log] = logsLeft();
    expect(run.stderr).toBe([
      'setup: apt-get update failed (exit 100); the last lines of its output:',
      '  | $ apt-get update -q',
      '  | Reading package lists...',
      '  | E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)',
      `setup: full output: ${path.join(tmp, log)}`,
      '',
    ].join('\n'));
    expect(fs.readFileSync(path.join(tmp, log), 'utf8')).toContain('E: Could not get lock');
    expect(fs.existsSync('/usr/sbin/policy-rc.d')).toBe(false);
  });

  test('fails without root or sudo, printing the exact command to run', async () => {
    shim('id', '[ "$1" = "-u" ] && echo 1000 || exec /usr/bin/id "$@"');
    shim('sudo', 'exit 1');

    const run = await setup(['--quiet'], { LIVESTACK_TEST_MISSING: 'nginx libnginx-mod-rtmp' });

    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: 'setup: missing Debian packages: nginx libnginx-mod-rtmp\n'
        + 'setup: install them with: sudo apt-get update && sudo apt-get install -y nginx libnginx-mod-rtmp\n',
    });
  });

  test('fails if npm ci fails: says why it ran, names the log and shows its last lines', async () => {
    shim('npm', 'echo "npm ERR! code ECONNREFUSED" >&2\nexit 1');
    const stamp = path.join(sandbox, 'node_modules', '.livestack-lock');
    const saved = fs.readFileSync(stamp);
    fs.writeFileSync(stamp, 'an older lock\n');
    try {
      const run = await setup(['--quiet']);

      expect(run.code).toBe(1);
      expect(run.stdout).toBe('setup: installing npm packages with npm ci (package-lock.json changed since the last install)\n');
      const [log] = logsLeft();
      expect(run.stderr).toBe([
        'setup: npm ci failed (exit 1); the last lines of its output:',
        '  | $ npm ci --no-audit --no-fund --loglevel=error',
        '  | npm ERR! code ECONNREFUSED',
        `setup: full output: ${path.join(tmp, log)}`,
        '',
      ].join('\n'));
    } finally {
      fs.writeFileSync(stamp, saved);
    }
  });
});
