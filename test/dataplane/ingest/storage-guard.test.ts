import * as fs from 'node:fs';
import * as path from 'node:path';
import { incompleteSegment } from '../../../lib/dataplane/mp4/boxes';
import { StorageGuard, StorageState, storageReserveBytes } from '../../../lib/dataplane/ingest/storage-guard';

const MiB = 1024 * 1024;

function guardWith(free: { bytes: number }, changes: { paused: boolean; state: StorageState }[]): StorageGuard {
  return new StorageGuard('/storage', 10 * MiB, (paused, state) => changes.push({ paused, state }), () => ({ bavail: free.bytes / 4096, blocks: (100 * MiB) / 4096, bsize: 4096 }));
}

describe('storage guard', () => {
  test('GIVEN free space falling under the reserve THEN recording pauses once, with a message naming free, total and reserve', () => {
    const free = { bytes: 50 * MiB };
    const changes: { paused: boolean; state: StorageState }[] = [];
    const guard = guardWith(free, changes);
    expect(guard.check().recordingPaused).toBe(false);
    free.bytes = 9 * MiB;
    expect(guard.check()).toEqual(expect.objectContaining({ recordingPaused: true, freeBytes: 9 * MiB, totalBytes: 100 * MiB }));
    guard.check();
    expect(changes.map((c) => c.paused)).toEqual([true]);
    expect(changes[0].state.message).toMatch(/9\.0 MiB free of 100\.0 MiB, under the reserve of 10\.0 MiB; recording is paused .* resumes when 20\.0 MiB are free/);
  });

  test('GIVEN a paused recording THEN it resumes only once twice the reserve is free (no flapping at the edge)', () => {
    const free = { bytes: 5 * MiB };
    const changes: { paused: boolean; state: StorageState }[] = [];
    const guard = guardWith(free, changes);
    guard.check();
    free.bytes = 15 * MiB;
    expect(guard.check().recordingPaused).toBe(true);
    free.bytes = 21 * MiB;
    expect(guard.check()).toEqual(expect.objectContaining({ recordingPaused: false }));
    expect(guard.state?.message).toBeUndefined();
    expect(changes.map((c) => c.paused)).toEqual([true, false]);
  });

  test('the reserve covers eight segments of the whole ladder, at least 8 MiB', () => {
    expect(storageReserveBytes(500, 2)).toBe(8 * MiB);
    expect(storageReserveBytes(20_000, 4)).toBe(20_000 * 1000 / 8 * 4 * 8);
  });
});

describe('incomplete segments', () => {
  const fixtures = path.join(__dirname, '..', '..', 'fixtures', 'cmaf');
  const segment = fs.readdirSync(fixtures).map((f) => path.join(fixtures, f)).find((f) => /\.m4s$/.test(f));

  test('GIVEN a whole segment THEN it passes; cut short anywhere THEN it is refused with why', () => {
    if (!segment) throw new Error(`no .m4s fixture in ${fixtures}`);
    const whole = fs.readFileSync(segment);
    expect(incompleteSegment(whole)).toBeUndefined();
    for (const cut of [whole.length - 1, Math.floor(whole.length / 2), 100]) expect(incompleteSegment(whole.subarray(0, cut))).toMatch(/do not end at its end/);
    expect(incompleteSegment(Buffer.alloc(0))).toMatch(/do not end/);
  });
});
