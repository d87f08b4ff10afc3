/**
 * Program schedules end to end, on the real controller and local driver with a real encoder: the
 * ingest keeps each program's schedule by its own timer. A program whose start lies a few seconds
 * ahead records nothing before it and records after it; a program whose end passes while the encoder
 * publishes is closed (EXT-X-ENDLIST) at its end while the channel goes on; the schedule change is a
 * live config update (the ingest is not restarted).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Encoding, Manifest } from '../../lib/model/manifest';
import { storagePaths } from '../../lib/contract/storage-layout';
import { desiredState } from '../../lib/runtime/desired-state';
import { readStatuses } from '../../lib/runtime/status';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { eventually } from '../runtime/support/eventually';
import {
  ingestManifest, joinRendition, probeDecoded, readDescriptor, readPlaylist, readPlaylistText, rtmpUrl, SMALL_LADDER, startEncoder, tearDown,
} from './support/ingest-support';

/** One small rendition: the suite is about timing, not encoding. */
const TINY_LADDER: Encoding = { ...SMALL_LADDER, ladder: [{ name: '90p', width: 160, height: 90, videoBitrateKbps: 120, profile: 'baseline' }] } as Encoding;
const ALWAYS = 'sched-always';
const EARLY = 'sched-early';
const CLOSING = 'sched-closing';
const AHEAD_MS = 4_000;

let manifest: Manifest;
let stack: LocalStack;
let storage: string;
let scratch: string;
let key: string;

const segments = (asset: string) => readPlaylist(storage, asset, '90p')?.segments ?? [];
/** Where a stored segment's middle lies on the program date time line (epoch ms). */
const middleOf = (segment: { programDateTimeMs?: number; durationSeconds: number }) => segment.programDateTimeMs! + segment.durationSeconds * 500;

/** The manifest with a program's schedule set. */
function scheduled(base: Manifest, program: string, schedule: { start?: string; end?: string }): Manifest {
  const copy = structuredClone(base);
  Object.assign(copy.accounts[0].channels[0].programs.find((p) => p.name === program)!, schedule);
  return copy;
}

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'program-schedule-e2e-'));
  const farAhead = new Date(Date.now() + 3_600_000).toISOString();
  const base = await ingestManifest([{
    name: 'sched',
    encoding: TINY_LADDER,
    streamKey: { kind: 'generated', id: 'sched-key' },
    programs: [
      { name: 'always', assetName: ALWAYS, state: 'running' },
      { name: 'early', assetName: EARLY, state: 'running' },
      { name: 'closing', assetName: CLOSING, state: 'running' },
    ],
  }]);
  // Declared from the start: `early` waits an hour, `closing` ends in an hour; the test moves both closer.
  manifest = scheduled(scheduled(base, 'early', { start: farAhead }), 'closing', { end: farAhead });
  stack = await startLocalStack(manifest);
  await stack.waitReady(30_000);
  storage = stack.storageDir(manifest.accounts[0].name);
  key = fs.readFileSync(storagePaths.secret(storage, 'sched-key'), 'utf8').trim();
}, 90_000);

afterAll(() => tearDown(stack, scratch), 60_000);

describe('program schedules', () => {
  it('record a program only from its start, and close another at its end while the channel goes on', async () => {
    // GIVEN an encoder publishing, `always` and `closing` recording, `early` waiting for its start
    startEncoder(rtmpUrl(manifest, 'sched', key), { seconds: 30 });
    await eventually('segments in always and closing', () => (segments(ALWAYS).length >= 2 && segments(CLOSING).length >= 2 ? true : undefined), 20_000, 100);
    expect(fs.existsSync(storagePaths.assetDir(storage, EARLY))).toBe(false);
    const ingestBefore = (await stack.driver.observe()).find((w) => w.role === 'ingest')!;

    // WHEN `early` is moved to start, and `closing` to end, a few seconds from now
    const boundary = Date.now() + AHEAD_MS;
    const at = new Date(boundary).toISOString();
    const next = scheduled(scheduled(manifest, 'early', { start: at }), 'closing', { end: at });
    const planned = await stack.controller.plan(desiredState(next, 'schedule change'));
    await stack.apply(next);

    // THEN the change was an in-place update of the ingest's live config
    expect(planned.plan.actions.filter((a) => a.kind !== 'keep')).toEqual([
      expect.objectContaining({ kind: 'update', role: 'ingest', disruptions: [] }),
    ]);
    // AND nothing is recorded into `early` before its start
    expect(Date.now()).toBeLessThan(boundary);
    expect(fs.existsSync(storagePaths.assetDir(storage, EARLY))).toBe(false);

    await eventually('closing closed', () => (readDescriptor(storage, CLOSING)?.state === 'stopped' ? true : undefined), AHEAD_MS + 5_000, 100);
    await eventually('two segments in early', () => (segments(EARLY).length >= 2 ? true : undefined), 15_000, 100);
    await eventually('always recording past the boundary', () => (segments(ALWAYS).some((s) => s.programDateTimeMs! > boundary + 1_000) ? true : undefined), 10_000, 100);

    // THEN `early` holds only segments from its start on (the first one lies mostly after it), and they decode
    const early = readDescriptor(storage, EARLY)!;
    expect(early.state).toBe('recording');
    expect(Date.parse(early.startedAt)).toBeGreaterThanOrEqual(boundary - 50);
    expect(middleOf(segments(EARLY)[0])).toBeGreaterThanOrEqual(boundary);
    const decoded = await probeDecoded(joinRendition(storage, EARLY, '90p', path.join(scratch, 'early.mp4')));
    expect(decoded).toMatchObject({ codecType: 'video', width: 160, height: 90 });
    expect(decoded.frames).toBeGreaterThanOrEqual(25);
    // AND `closing` was closed at its end, holding nothing that lies mostly after it
    const closing = readDescriptor(storage, CLOSING)!;
    expect(Date.parse(closing.stoppedAt!)).toBeGreaterThanOrEqual(boundary - 50);
    expect(Date.parse(closing.stoppedAt!)).toBeLessThan(boundary + 1_500);
    expect(readPlaylistText(storage, CLOSING, '90p')).toMatch(/#EXT-X-ENDLIST\n$/);
    expect(segments(CLOSING).every((s) => middleOf(s) < boundary)).toBe(true);
    // AND the channel went on: `always` kept recording, the ingest was never restarted
    expect(readDescriptor(storage, ALWAYS)!.state).toBe('recording');
    const ingestAfter = (await stack.driver.observe()).find((w) => w.role === 'ingest')!;
    expect({ startedAt: ingestAfter.startedAt, restarts: ingestAfter.restarts }).toEqual({ startedAt: ingestBefore.startedAt, restarts: ingestBefore.restarts });
    // AND status reports each program's phase
    await eventually('status with the new phases', () => {
      const programs = readStatuses(stack.stateDir).get(manifest.accounts[0].name)?.programs ?? [];
      const states = Object.fromEntries(programs.map((p) => [p.name, p.state]));
      return states.early === 'recording' && states.closing === 'ended' && states.always === 'recording' ? true : undefined;
    }, 5_000, 100);
  }, 60_000);
});
