/**
 * Retention never removes what an asset or a running program still needs, over random sequences of
 * segments, reconnects, workload restarts, program starts and stops and retention passes:
 *
 * - a model run (many sequences): the real AssetPlaylist and planRetention over a simulated file set;
 * - the real thing (fewer sequences): ChannelRecorder, collectRetentionView and applyRetention on a
 *   temp folder, with real CMAF files from ffmpeg, checked by reading the playlists back from disk.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { ProgramManifest } from '../../../../lib/model/manifest';
import { AssetPlaylist } from '../../../../lib/dataplane/ingest/asset-playlist';
import { ChannelRecorder } from '../../../../lib/dataplane/ingest/asset-recorder';
import { applyRetention, collectRetentionView, planRetention, RunKnowledge, RunState } from '../../../../lib/dataplane/ingest/retention';
import { renditionPlan, transcodeArgs } from '../../../../lib/dataplane/ingest/transcode-args';
import { createLogger } from '../../../../lib/dataplane/common/log';
import { parseMediaPlaylist } from '../../../../lib/dataplane/media-playlist';
import { storagePaths } from '../../../../lib/contract/storage-layout';

const run = promisify(execFile);
const PROGRAMS = 3;
const GRACE_MS = 5_000;

type Op =
  | { readonly kind: 'segment'; readonly seconds: number }
  | { readonly kind: 'record' }
  | { readonly kind: 'reconnect' }
  | { readonly kind: 'restart' }
  | { readonly kind: 'start'; readonly program: number; readonly windowSeconds: number }
  | { readonly kind: 'stop'; readonly program: number }
  | { readonly kind: 'retention'; readonly advanceMs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('segment' as const), seconds: fc.integer({ min: 5, max: 40 }).map((d) => d / 10) }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'record' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reconnect' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('start' as const), program: fc.nat(PROGRAMS - 1), windowSeconds: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('stop' as const), program: fc.nat(PROGRAMS - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('retention' as const), advanceMs: fc.integer({ min: 0, max: 8_000 }) }) },
);

describe('planRetention (model)', () => {
  interface ModelAsset {
    readonly playlist: AssetPlaylist;
    recording: boolean;
    windowSeconds: number;
    droppedAt: Map<string, number>;
    /** Referenced files when it stopped. */
    frozen?: string[];
  }

  it('never removes a referenced file or an unrecorded segment, and keeps stopped assets whole', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 80 }), (ops) => {
      const files = new Set<string>();
      const runs = new Map<string, RunState>();
      const pending: string[] = [];
      const recorded = new Set<string>();
      const assets: ModelAsset[] = Array.from({ length: PROGRAMS }, () => ({ playlist: new AssetPlaylist(), recording: false, windowSeconds: 1, droppedAt: new Map() }));
      let now = 1_000_000;
      let bootMs = now;
      let runCount = 0;
      let current = '';
      let sequence = 0;
      const newRun = () => {
        if (current) runs.set(current, 'finished');
        current = `r${runCount++}`;
        sequence = 0;
        runs.set(current, 'active');
        files.add(`runs/${current}/v/init.mp4`);
      };
      const assetFile = (index: number, name: string) => `assets/p${index}/v/${name}`;
      newRun();

      for (const op of ops) {
        switch (op.kind) {
          case 'segment': {
            const file = `runs/${current}/v/seg-${sequence}.m4s`;
            files.add(file);
            pending.push(`${file}|${op.seconds}`);
            sequence++;
            now += op.seconds * 1000;
            break;
          }
          case 'record':
            // What ChannelRecorder.record does for each pending segment: link into every recording asset, slide its window.
            for (const entry of pending.splice(0)) {
              const [file, seconds] = entry.split('|');
              const runId = file.split('/')[1];
              assets.forEach((asset, index) => {
                if (!asset.recording) return;
                const uri = `${runId}-${path.basename(file)}`;
                const mapUri = `${runId}-init.mp4`;
                files.add(assetFile(index, uri));
                files.add(assetFile(index, mapUri));
                asset.playlist.append({ uri, mapUri, durationSeconds: Number(seconds), bytes: 1 });
                for (const dropped of asset.playlist.trim(asset.windowSeconds)) asset.droppedAt.set(assetFile(index, dropped), now);
              });
              recorded.add(file);
            }
            break;
          case 'reconnect':
            newRun();
            break;
          case 'restart':
            // The workload restarts: its runs are left behind, what it knew in memory is gone, the assets stay.
            for (const id of runs.keys()) runs.set(id, 'abandoned');
            pending.length = 0;
            for (const asset of assets) asset.droppedAt = new Map();
            bootMs = now;
            current = '';
            newRun();
            break;
          case 'start': {
            // As ChannelRecorder.setPrograms: reopen a stopped asset, apply a narrower window at once.
            const asset = assets[op.program];
            asset.windowSeconds = op.windowSeconds;
            if (!asset.recording) asset.playlist.reopen();
            asset.recording = true;
            asset.frozen = undefined;
            for (const dropped of asset.playlist.trim(asset.windowSeconds)) asset.droppedAt.set(assetFile(op.program, dropped), now);
            break;
          }
          case 'stop': {
            const asset = assets[op.program];
            if (asset.recording) {
              asset.playlist.end();
              asset.recording = false;
              asset.frozen = [...asset.playlist.referencedFiles()].sort();
            }
            break;
          }
          case 'retention': {
            now += op.advanceMs;
            const channelFiles = [...files].filter((f) => f.startsWith('runs/')).map((f) => ({
              path: f, run: f.split('/')[1], runState: runs.get(f.split('/')[1]) ?? 'abandoned', segment: f.endsWith('.m4s'), recorded: recorded.has(f),
            }));
            const assetFiles = [...files].filter((f) => f.startsWith('assets/')).map((f) => {
              const index = Number(f.split('/')[1].slice(1));
              return { path: f, referenced: assets[index].playlist.referencedFiles().has(path.basename(f)), unreferencedSinceMs: assets[index].droppedAt.get(f) ?? bootMs };
            });
            const plan = planRetention({ nowMs: now, graceMs: GRACE_MS, channelFiles, assetFiles });
            for (const file of plan) {
              const channel = channelFiles.find((c) => c.path === file);
              if (channel) expect(channel.recorded || channel.runState === 'abandoned' || (!channel.segment && channel.runState === 'finished')).toBe(true);
              files.delete(file);
            }
            // An init section stays while a segment of its run waits to be recorded (recording links it).
            for (const entry of pending) expect(files.has(`${path.dirname(entry.split('|')[0])}/init.mp4`)).toBe(true);
            break;
          }
        }

        // Every file an asset references exists; stopped assets are unchanged; windows hold.
        assets.forEach((asset, index) => {
          for (const file of asset.playlist.referencedFiles()) expect(files.has(assetFile(index, file))).toBe(true);
          if (asset.frozen) expect([...asset.playlist.referencedFiles()].sort()).toEqual(asset.frozen);
          if (asset.recording && asset.playlist.segments.length > 1) {
            expect(asset.playlist.segments.reduce((sum, s) => sum + s.durationSeconds, 0)).toBeLessThanOrEqual(asset.windowSeconds + 1e-9);
          }
        });
        // A segment not yet recorded, of a run still going, is still there.
        for (const entry of pending) expect(files.has(entry.split('|')[0])).toBe(true);
      }
    }), { numRuns: 400 });
  });
});

describe('retention on the file system, with the real recorder', () => {
  let media: string;
  beforeAll(async () => {
    // Real CMAF: one init section and one segment per rendition of a passthrough channel.
    media = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-retention-media-'));
    const input = path.join(media, 'input.flv');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-f', 'lavfi', '-i', 'sine=sample_rate=48000', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-f', 'flv', input]);
    await run('ffmpeg', transcodeArgs({ input, encoding: { type: 'passthrough' }, keyFrameIntervalSeconds: 1, segmentDurationSeconds: 1, outputDir: path.join(media, 'out') }));
  }, 60_000);
  afterAll(() => fs.rmSync(media, { recursive: true, force: true }));

  const renditions = renditionPlan({ type: 'passthrough' });
  const program = (index: number, state: 'running' | 'stopped'): ProgramManifest => ({
    name: `p${index}`, path: `app/p${index}`, assetName: `asset-${index}`, manifestName: 'index', archiveWindowSeconds: 300, state,
  });

  it('keeps every file the asset playlists on disk refer to, and stopped assets byte for byte', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
      const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-retention-'));
      try {
        const runsDir = path.join(storagePaths.channelDir(storage, 'news'), 'runs');
        let now = 1_000_000;
        let bootMs = now;
        const log = createLogger('retention-test', { write: () => true } as unknown as NodeJS.WritableStream);
        const windows = new Map<number, number>();
        const declared = new Map<number, 'running' | 'stopped'>();
        const makeRecorder = () => new ChannelRecorder({
          storageDir: storage, channel: 'news', segmentDurationSeconds: 1, renditions, log, testOnlyWindowCapSeconds: 1_000, now: () => now,
        });
        let recorder = makeRecorder();
        const apply = () => recorder.setPrograms([...declared].map(([i, state]) => ({ ...program(i, state), archiveWindowSeconds: windows.get(i) ?? 300 })));
        const runs = new Map<string, 'active' | 'finished'>();
        const handedOn = new Set<string>();
        const pending: { file: string; rendition: string; seconds: number; run: string }[] = [];
        const frozen = new Map<number, string>();
        let runCount = 0;
        let current = '';
        let sequence = 0;
        const newRun = () => {
          if (current) runs.set(current, 'finished');
          current = `run${runCount++}`;
          sequence = 0;
          runs.set(current, 'active');
          for (const r of renditions) {
            fs.mkdirSync(path.join(runsDir, current, r.name), { recursive: true });
            fs.copyFileSync(path.join(media, 'out', r.name, fs.readdirSync(path.join(media, 'out', r.name)).find((f) => f.startsWith('init'))!), path.join(runsDir, current, r.name, 'init.mp4'));
          }
        };
        const knowledge: RunKnowledge = {
          runState: (id) => runs.get(id) ?? 'abandoned',
          isRecorded: (file) => handedOn.has(file),
        };
        newRun();

        for (const op of ops) {
          switch (op.kind) {
            case 'segment':
              for (const r of renditions) {
                const file = path.join(runsDir, current, r.name, `seg-${sequence}.m4s`);
                fs.copyFileSync(path.join(media, 'out', r.name, 'seg-0.m4s'), file);
                pending.push({ file, rendition: r.name, seconds: op.seconds, run: current });
              }
              sequence++;
              now += op.seconds * 1000;
              break;
            case 'record':
              for (const p of pending.splice(0)) {
                recorder.record({
                  run: p.run, rendition: p.rendition, segmentPath: p.file, initPath: path.join(path.dirname(p.file), 'init.mp4'),
                  durationSeconds: p.seconds, programDateTimeMs: now, bytes: fs.statSync(p.file).size,
                });
                handedOn.add(p.file);
              }
              break;
            case 'reconnect':
              newRun();
              break;
            case 'restart':
              runs.clear();
              pending.length = 0;
              current = '';
              bootMs = now;
              recorder = makeRecorder();
              apply();
              newRun();
              break;
            case 'start':
              windows.set(op.program, op.windowSeconds);
              declared.set(op.program, 'running');
              apply();
              frozen.delete(op.program);
              break;
            case 'stop':
              if (declared.get(op.program) === 'running') {
                declared.set(op.program, 'stopped');
                apply();
                frozen.set(op.program, readPlaylist(storage, op.program) ?? '');
              }
              break;
            case 'retention': {
              now += op.advanceMs;
              const view = collectRetentionView({ runsDir, runs: knowledge, assets: recorder.knowledge(), bootMs, nowMs: now, graceMs: GRACE_MS });
              applyRetention(planRetention(view), runsDir, knowledge);
              break;
            }
          }

          for (let i = 0; i < PROGRAMS; i++) {
            const text = readPlaylist(storage, i);
            if (text === undefined) continue;
            for (const segment of parseMediaPlaylist(text, `asset-${i}`).segments) {
              expect(fs.existsSync(path.join(storagePaths.renditionDir(storage, `asset-${i}`, 'source'), segment.uri))).toBe(true);
              expect(fs.existsSync(path.join(storagePaths.renditionDir(storage, `asset-${i}`, 'source'), segment.mapUri!))).toBe(true);
            }
            if (frozen.has(i)) {
              expect(text).toBe(frozen.get(i));
              if (text !== '') expect(text).toMatch(/#EXT-X-ENDLIST\n$/);
            }
          }
          for (const p of pending) expect(fs.existsSync(p.file)).toBe(true);
        }
      } finally {
        fs.rmSync(storage, { recursive: true, force: true });
      }
    }), { numRuns: 100 });
  }, 120_000);

  it('removes recorded staging copies, runs left by an earlier process, and window leftovers after the grace period only', () => {
    // GIVEN a finished run whose segment is recorded, an abandoned run, an active run, and an asset
    // with one referenced and one dropped segment (dropped 1 s ago, then 6 s ago)
    const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-retention-fs-'));
    try {
      const runsDir = path.join(storage, 'channels', 'news', 'runs');
      const write = (file: string) => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, 'x');
        return file;
      };
      const finishedSegment = write(path.join(runsDir, 'finished', 'source', 'seg-0.m4s'));
      const finishedInit = write(path.join(runsDir, 'finished', 'source', 'init.mp4'));
      const abandoned = write(path.join(runsDir, 'old', 'source', 'seg-9.m4s.tmp'));
      const activeInit = write(path.join(runsDir, 'active', 'source', 'init.mp4'));
      const activeUnrecorded = write(path.join(runsDir, 'active', 'source', 'seg-3.m4s'));
      fs.mkdirSync(path.join(runsDir, 'active', 'audio'), { recursive: true });
      const assetDir = path.join(storage, 'assets', 'a');
      const referenced = write(path.join(assetDir, 'source', 'active-seg-2.m4s'));
      const dropped = write(path.join(assetDir, 'source', 'active-seg-1.m4s'));
      const earlierLadder = write(path.join(assetDir, '720p', 'x-seg-0.m4s'));
      const runs: RunKnowledge = {
        runState: (id) => (id === 'active' ? 'active' : id === 'finished' ? 'finished' : 'abandoned'),
        isRecorded: (file) => file === finishedSegment,
      };
      const sweep = (nowMs: number) => {
        const view = collectRetentionView({
          runsDir, runs, bootMs: 0, nowMs, graceMs: GRACE_MS,
          assets: [{ dir: assetDir, renditions: ['source'], referenced: new Set([referenced]), droppedAt: new Map([[dropped, 10_000]]) }],
        });
        return applyRetention(planRetention(view), runsDir, runs);
      };

      // WHEN retention runs 1 s after the drop
      sweep(11_000);

      // THEN staging copies of finished and abandoned runs are gone with their folders, the active run is untouched
      for (const gone of [finishedSegment, finishedInit, abandoned]) expect(fs.existsSync(gone)).toBe(false);
      expect(fs.existsSync(path.join(runsDir, 'finished'))).toBe(false);
      expect(fs.existsSync(path.join(runsDir, 'old'))).toBe(false);
      for (const kept of [activeInit, activeUnrecorded, referenced, dropped, earlierLadder]) expect(fs.existsSync(kept)).toBe(true);
      expect(fs.existsSync(path.join(runsDir, 'active', 'audio'))).toBe(true);

      // WHEN it runs again after the grace period
      sweep(16_000);

      // THEN the dropped segment went; the referenced one and the earlier ladder's folder stay
      expect(fs.existsSync(dropped)).toBe(false);
      for (const kept of [referenced, earlierLadder, activeInit, activeUnrecorded]) expect(fs.existsSync(kept)).toBe(true);
    } finally {
      fs.rmSync(storage, { recursive: true, force: true });
    }
  });
});

function readPlaylist(storage: string, index: number): string | undefined {
  try {
    return fs.readFileSync(storagePaths.renditionPlaylist(storage, `asset-${index}`, 'source'), 'utf8');
  } catch {
    return undefined;
  }
}
