/**
 * The ingest's schedule decision, pure: which declared programs record at a given time, when to decide
 * again, and the timer that applies it at each boundary (jest's fake clock, so no test waits).
 */
import { ProgramManifest } from '../../../lib/model/manifest';
import { programPhase } from '../../../lib/model/program-schedule';
import { outsideSchedule } from '../../../lib/dataplane/ingest/asset-recorder';
import { decideSchedule, ProgramScheduler } from '../../../lib/dataplane/ingest/program-scheduler';

const T0 = Date.parse('2026-06-01T18:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function program(name: string, extra: Partial<ProgramManifest> = {}): ProgramManifest {
  return { name, path: `app/acct/news/${name}`, assetName: `news-${name}`, manifestName: 'index', archiveWindowSeconds: 600, state: 'running', ...extra };
}

const silent = { info: () => undefined, error: () => undefined };

describe('programPhase', () => {
  const show = program('show', { start: iso(T0), end: iso(T0 + 3_600_000) });

  test.each([
    ['before its start', 'scheduled', T0 - 1],
    ['at its start', 'recording', T0],
    ['within its window', 'recording', T0 + 1_800_000],
    ['at its end', 'ended', T0 + 3_600_000],
    ['after its end', 'ended', T0 + 7_200_000],
  ] as const)('a running program with a schedule, %s, is %s', (_when, phase, now) => {
    expect(programPhase(show, now)).toBe(phase);
  });

  test('a program without a schedule records whenever it is declared running', () => {
    expect(programPhase(program('always'), T0)).toBe('recording');
  });

  test('a program declared stopped is stopped, whatever its schedule', () => {
    expect(programPhase({ ...show, state: 'stopped' }, T0 + 1)).toBe('stopped');
  });
});

describe('decideSchedule', () => {
  test('declares running only the programs within their window, and wakes at the next boundary', () => {
    // GIVEN a program waiting for its start, one recording until its end, one without a schedule, one stopped
    const programs = [
      program('later', { start: iso(T0 + 60_000) }),
      program('closing', { end: iso(T0 + 30_000) }),
      program('always'),
      program('off', { state: 'stopped', start: iso(T0 + 10_000) }),
    ];

    // WHEN decided at T0
    const decision = decideSchedule(programs, T0);

    // THEN only the programs within their windows run, and the next decision is at the earliest boundary of a running one
    expect(decision.programs.map((p) => [p.name, p.state])).toEqual([['later', 'stopped'], ['closing', 'running'], ['always', 'running'], ['off', 'stopped']]);
    expect(Object.fromEntries(decision.phases)).toEqual({ later: 'scheduled', closing: 'recording', always: 'recording', off: 'stopped' });
    expect(decision.nextBoundaryMs).toBe(T0 + 30_000);
    // AND the programs keep their schedule (the recorder drops segments that precede a start)
    expect(decision.programs[0].start).toBe(iso(T0 + 60_000));
  });

  test('has nothing to wake for once every boundary has passed', () => {
    const decision = decideSchedule([program('past', { start: iso(T0 - 20_000), end: iso(T0 - 10_000) })], T0);

    expect(decision.programs[0].state).toBe('stopped');
    expect(decision.nextBoundaryMs).toBeUndefined();
  });
});

describe('outsideSchedule', () => {
  const window = { notBeforeMs: T0, notAfterMs: T0 + 10_000 };
  const segmentAt = (ms: number) => ({ programDateTimeMs: ms, durationSeconds: 1 });

  test.each([
    ['mostly before the start', T0 - 600, true],
    ['mostly after the start', T0 - 400, false],
    ['mostly before the end', T0 + 9_400, false],
    ['mostly after the end', T0 + 9_600, true],
  ] as const)('a segment lying %s is outside: %s', (_where, at, outside) => {
    expect(outsideSchedule(segmentAt(at), window)).toBe(outside);
  });

  test('keeps every segment of a program without a schedule, and a segment without a program date time', () => {
    expect(outsideSchedule(segmentAt(T0 - 600_000), {})).toBe(false);
    expect(outsideSchedule({ durationSeconds: 1 }, window)).toBe(false);
  });
});

describe('ProgramScheduler', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test('starts a program at its start and stops it at its end, by its own timer', () => {
    // GIVEN a program scheduled from T0+2s to T0+5s
    const applied: string[][] = [];
    const scheduler = new ProgramScheduler((programs) => applied.push(programs.map((p) => `${p.name}:${p.state}`)), silent);
    scheduler.set([program('show', { start: iso(T0 + 2_000), end: iso(T0 + 5_000) }), program('always')]);

    // WHEN the clock passes its start and its end
    jest.advanceTimersByTime(1_999);
    const beforeStart = applied.length;
    jest.advanceTimersByTime(1);
    jest.advanceTimersByTime(3_000);
    scheduler.stop();

    // THEN the recorder saw it stopped, then running at T0+2s, then stopped at T0+5s
    expect(beforeStart).toBe(1);
    expect(applied).toEqual([
      ['show:stopped', 'always:running'],
      ['show:running', 'always:running'],
      ['show:stopped', 'always:running'],
    ]);
  });

  test('takes a start months ahead in steps a timer can hold, changing nothing until then', () => {
    const applied: string[] = [];
    const scheduler = new ProgramScheduler((programs) => applied.push(programs[0].state), silent);
    scheduler.set([program('season', { start: iso(T0 + 60 * 86_400_000) })]);

    jest.advanceTimersByTime(3 * 86_400_000);
    scheduler.stop();

    expect(applied.length).toBeGreaterThanOrEqual(3);
    expect(new Set(applied)).toEqual(new Set(['stopped']));
  });

  test('a new live config replaces the schedule and its timer', () => {
    const applied: string[] = [];
    const scheduler = new ProgramScheduler((programs) => applied.push(programs[0].state), silent);
    scheduler.set([program('show', { start: iso(T0 + 1_000) })]);

    scheduler.set([program('show', { start: iso(T0 + 10_000) })]);
    jest.advanceTimersByTime(5_000);
    const afterOldStart = [...applied];
    jest.advanceTimersByTime(5_000);
    scheduler.stop();

    expect(afterOldStart).toEqual(['stopped', 'stopped']);
    expect(applied).toEqual(['stopped', 'stopped', 'running']);
  });

  test('logs an apply that fails and keeps its timer', () => {
    const errors: string[] = [];
    let calls = 0;
    const scheduler = new ProgramScheduler(() => {
      calls++;
      throw new Error('disk full');
    }, { info: () => undefined, error: (m) => errors.push(m) });
    scheduler.set([program('show', { start: iso(T0 + 1_000) })]);

    jest.advanceTimersByTime(1_000);
    scheduler.stop();

    expect(calls).toBe(2);
    expect(errors[0]).toMatch(/could not apply the program schedule: disk full/);
  });
});
