/**
 * `npm start` as a new user runs it: on a fresh clone (this checkout's HEAD plus its uncommitted changes),
 * the command installs what it needs, runs examples/basic on the local driver and prints where to push
 * and where to play. The printed ingest URL must accept an ffmpeg push, the printed playback URL must
 * play, and Ctrl-C must tear everything down. The set-up says what it does on the way (a line per step),
 * and nothing once everything is in place. Closing the terminal of an `npm start 2>&1 | tee log` tears
 * down too, and the next `npm start` works without any cleanup. Uses the example's fixed ports (1935,
 * 8080, 8090).
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../support/cli';
import { portIsFree, processesOf } from '../support/process-table';
import { eventually } from '../runtime/support/eventually';
import { decodedFrameDigests, listStreams, LIVE_INPUT } from './support/media-probe';

const run = promisify(execFile);

async function httpText(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: await response.text() };
}

jest.setTimeout(600_000);

/** A clone of this checkout as its working tree is: uncommitted changes and new files included (none in CI). */
function freshClone(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-clone-'));
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, dir]);
  const diff = execFileSync('git', ['-C', ROOT, 'diff', 'HEAD', '--binary'], { maxBuffer: 64 * 1024 * 1024 });
  if (diff.length > 0) execFileSync('git', ['-C', dir, 'apply', '--whitespace=nowarn'], { input: diff });
  const untracked = execFileSync('git', ['-C', ROOT, 'ls-files', '--others', '--exclude-standard', '-z'], { encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of untracked) fs.cpSync(path.join(ROOT, file), path.join(dir, file));
  return dir;
}

describe('npm start on a fresh clone', () => {
  let clone: string;
  let start: ChildProcess | undefined;
  let piped: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    for (const port of [1935, 8080, 8090]) {
      if (!(await portIsFree(port))) throw new Error(`port ${port} is taken: examples/basic needs it (stop what holds it: ss -ltnp 'sport = :${port}')`);
    }
    clone = freshClone();
  });

  afterAll(async () => {
    for (const job of [start, piped]) if (job?.pid && job.exitCode === null && job.signalCode === null) process.kill(-job.pid, 'SIGKILL');
    if (!clone) return;
    // Whatever happened, leave no workload behind.
    if (fs.existsSync(path.join(clone, 'dist'))) {
      execFileSync(process.execPath, [path.join(clone, 'bin', 'livestack'), 'destroy', '--state-dir', path.join(clone, '.livestack')], { stdio: 'ignore' });
    }
    fs.rmSync(clone, { recursive: true, force: true });
  });

  test('prints an ingest URL that accepts a push and a playback URL that plays; Ctrl-C tears it down', async () => {
    // GIVEN `npm start` in the clone, in its own process group as a terminal would run it
    start = spawn('npm', ['start'], { cwd: clone, detached: true, env: { ...process.env, npm_config_loglevel: 'error' } });
    start.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    start.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });

    // WHEN it says where to push and where to play
    const banner = await eventually('the ingest and playback URLs', () => {
      if (start!.exitCode !== null || start!.signalCode !== null) throw new Error(`npm start exited (${start!.exitCode ?? start!.signalCode}) before printing them`);
      return /Preview pages/.test(output) ? output : undefined;
    }, 420_000, 250).catch((error: Error) => { throw new Error(`${error.message}\n--- npm start printed:\n${output}`); });
    const ingestUrl = /ingest URL: (rtmp:\/\/\S+)/.exec(banner)![1];
    const srtUrl = /SRT URL: (srt:\/\/\S+)&passphrase=<stream key>/.exec(banner)![1];
    const keyFile = /stream key file: (\S+)/.exec(banner)![1];
    const hls = /HLS: (http\S+)/.exec(banner)![1];
    const preview = /channel news: (http\S+\/preview\/news) \(from 127\.0\.0\.1\/32, ::1\/128\)/.exec(banner)![1];
    expect(ingestUrl).toBe('rtmp://127.0.0.1:1935/live');
    expect(srtUrl).toBe('srt://127.0.0.1:1935?streamid=publish:news');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = fs.readFileSync(keyFile, 'utf8').trim();
    expect(banner).not.toContain(key);

    // AND an encoder pushes 12 s to the printed URL with the key from the printed file
    // (the operator's preview page answers from this machine)
    expect(await httpText(preview)).toMatchObject({ status: 200, body: expect.stringContaining('/preview/hls.min.js') });
    await run('ffmpeg', [
      '-hide_banner', '-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '12', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'aac', '-f', 'flv', `${ingestUrl}/${key}`,
    ], { timeout: 60_000, killSignal: 'SIGKILL' });

    // (the set-up said what it did before the banner: npm ci, the first build and the SRT listener's,
    // nothing about Debian packages that are all installed)
    const setupLines = banner.slice(0, banner.indexOf('livestack is up')).split('\n').filter((l) => l.startsWith('setup: '));
    expect(setupLines).toEqual([
      'setup: installing npm packages with npm ci (node_modules is missing)',
      expect.stringMatching(/^setup: npm packages installed \(added \d+ packages\) in \d+ s$/),
      'setup: building dist/ (tsc; the first build takes about a minute)',
      expect.stringMatching(/^setup: dist\/ built in \d+ s$/),
      'setup: building the SRT listener (build/native/livestack-srt-listener: gcc on libsrt)',
      expect.stringMatching(/^setup: SRT listener built in \d+ s$/),
    ]);

    // THEN the printed HLS URL plays every rendition of the ladder, video and audio
    await eventually('two segments of every rendition', async () => {
      const master = await httpText(hls);
      if (master.status !== 200) return undefined;
      const media = await Promise.all(['720p', '540p', '360p', 'audio'].map((r) => httpText(hls.replace(/manifest\.m3u8$/, `${r}/index.m3u8`))));
      return media.every((m) => m.status === 200 && (m.body.match(/#EXTINF/g) ?? []).length >= 2) ? true : undefined;
    }, 60_000, 500);
    const streams = await listStreams(hls);
    expect(streams.filter((s) => s.codecType === 'video').map((s) => `${s.width}x${s.height}`).sort()).toEqual(['1280x720', '640x360', '960x540']);
    expect(streams.some((s) => s.codecType === 'audio')).toBe(true);
    // (one HLS program per variant: its video, and the shared audio)
    const decoded = await decodedFrameDigests(hls, { maps: ['0:p:0:v', '0:p:1:v', '0:p:2:v', '0:p:0:a'], inputArgs: LIVE_INPUT });
    for (const frames of decoded) expect(frames.length).toBeGreaterThan(25);

    // AND the printed SRT URL, with the key as passphrase, takes the next publisher: the playlist grows
    const media = hls.replace(/manifest\.m3u8$/, '360p/index.m3u8');
    const segmentsBefore = ((await httpText(media)).body.match(/#EXTINF/g) ?? []).length;
    await run('ffmpeg', [
      '-hide_banner', '-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'aac', '-f', 'mpegts', `${srtUrl}&passphrase=${key}`,
    ], { timeout: 60_000, killSignal: 'SIGKILL' });
    await eventually('segments from the SRT publisher', async () => ((((await httpText(media)).body.match(/#EXTINF/g) ?? []).length >= segmentsBefore + 2) ? true : undefined), 30_000, 500);

    // WHEN Ctrl-C reaches it
    process.kill(-start.pid!, 'SIGINT');
    await new Promise<void>((resolve) => (start!.exitCode !== null || start!.signalCode !== null ? resolve() : start!.once('exit', () => resolve())));

    // THEN every workload is down and the ports are free again
    expect(output).toContain('Stopped: every workload is down.');
    for (const port of [1935, 8080, 8090]) expect(await portIsFree(port)).toBe(true);
  });

  test('closing the terminal of `npm start 2>&1 | tee log` tears down; the next npm start works without cleanup', async () => {
    // GIVEN npm start piped into tee, in its own process group as a terminal runs a job
    const log = path.join(clone, 'start.log');
    piped = spawn('sh', ['-c', 'npm start 2>&1 | tee start.log >/dev/null'], { cwd: clone, detached: true, stdio: 'ignore', env: { ...process.env, npm_config_loglevel: 'error' } });
    const printed = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
    await eventually('the banner of the second npm start', () => (/Preview pages/.test(printed()) ? true : undefined), 120_000, 250)
      .catch((error: Error) => { throw new Error(`${error.message}\n--- it printed:\n${printed()}`); });
    // (everything was in place: the set-up said nothing)
    expect(printed()).not.toContain('setup:');

    // WHEN the terminal closes: SIGHUP to the whole job (npm, the shell, up, tee)
    process.kill(-piped.pid!, 'SIGHUP');
    await new Promise<void>((resolve) => (piped!.exitCode !== null || piped!.signalCode !== null ? resolve() : piped!.once('exit', () => resolve())));

    // THEN nothing of the stack is left and its ports are free
    const stateDir = path.join(clone, '.livestack');
    await eventually('every process of the stack to exit', () => (processesOf(stateDir).length === 0 ? true : undefined), 30_000, 250)
      .catch(() => { throw new Error(`still running: ${processesOf(stateDir).map((p) => p.command).join('\n')}`); });
    for (const port of [1935, 8080, 8090]) expect(await portIsFree(port)).toBe(true);

    // AND the next npm start comes up as the first did, and Ctrl-C ends it
    let again = '';
    start = spawn('npm', ['start'], { cwd: clone, detached: true, env: { ...process.env, npm_config_loglevel: 'error' } });
    start.stdout!.on('data', (chunk: Buffer) => { again += chunk.toString(); });
    start.stderr!.on('data', (chunk: Buffer) => { again += chunk.toString(); });
    await eventually('the banner of the third npm start', () => (/Preview pages/.test(again) ? true : undefined), 120_000, 250)
      .catch((error: Error) => { throw new Error(`${error.message}\n--- it printed:\n${again}`); });
    process.kill(-start.pid!, 'SIGINT');
    await new Promise<void>((resolve) => (start!.exitCode !== null || start!.signalCode !== null ? resolve() : start!.once('exit', () => resolve())));
    expect(again).toContain('Stopped: every workload is down.');
    for (const port of [1935, 8080, 8090]) expect(await portIsFree(port)).toBe(true);
  });
});
