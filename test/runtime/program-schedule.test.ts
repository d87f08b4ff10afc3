/**
 * Program schedules from the construct to the runtime, pure: the schedule reaches the manifest and the
 * ingest's live config (never its static config), a schedule change plans an in-place update, the
 * controller's timers include program boundaries, and status reports each program's phase.
 */
import { Testing, TerraformStack } from 'cdktf';
import { MediaAccount } from '../../constructs';
import { ProgramProps } from '../../constructs/program';
import { LiveChannelProps } from '../../constructs/live-channel';
import { Manifest } from '../../lib/model/manifest';
import { desiredState, upcomingTimers } from '../../lib/runtime/desired-state';
import { ObservedWorkload } from '../../lib/runtime/drivers/driver';
import { isTerminal } from '../../lib/runtime/errors';
import { plan } from '../../lib/runtime/plan';
import { computeStatus } from '../../lib/runtime/status';
import { LivestackStackSynthesis } from '../../lib/synth/stack-synthesis';
import { IngestLiveConfig } from '../../lib/contract/workload-config';
import { topology } from '../../lib/topology';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** One channel `news` with programs `a` and `b` (props per program), an endpoint, no locator. */
function manifestOf(programs: Record<string, ProgramProps>, channel: LiveChannelProps = {}): Manifest {
  const stack = new TerraformStack(Testing.app(), 'test');
  const account = new MediaAccount(stack, 'demo');
  account.addStreamingEndpoint('main');
  const news = account.addLiveChannel('news', channel);
  for (const [id, props] of Object.entries(programs)) news.addProgram(id, props);
  Testing.synth(stack, true);
  return LivestackStackSynthesis.of(stack).render().manifest;
}

function running(manifest: Manifest): ObservedWorkload[] {
  return topology(manifest).map((s) => ({
    name: s.name, account: s.account, role: s.role, owner: s.owner, specHash: s.specHash, liveHash: s.liveHash, phase: 'running', restarts: 0,
  }));
}

describe('a program schedule in the manifest', () => {
  test('is normalized to UTC ISO 8601 and travels in the ingest\'s live config only', () => {
    // GIVEN a program scheduled with a Date and a zoned string
    const manifest = manifestOf({ show: { start: new Date('2026-06-01T18:00:00Z'), end: '2026-06-01T21:30:00+02:00' } });

    // THEN the manifest holds both as UTC instants
    expect(manifest.accounts[0].channels[0].programs[0]).toMatchObject({ start: '2026-06-01T18:00:00.000Z', end: '2026-06-01T19:30:00.000Z' });
    // AND the ingest gets them through its live config, not its static config (no restart on a change)
    const ingest = topology(manifest).find((s) => s.role === 'ingest')!;
    expect((ingest.liveConfig as IngestLiveConfig).programs[0]).toMatchObject({ start: '2026-06-01T18:00:00.000Z', end: '2026-06-01T19:30:00.000Z' });
    expect(ingest.env.LIVESTACK_CONFIG).not.toContain('2026-06-01T18:00:00.000Z');
  });

  test('refuses a manifest file whose program ends before it starts, naming the program and field', () => {
    // GIVEN a manifest edited by hand so that a program ends before it starts
    const manifest = manifestOf({ show: { start: '2026-06-01T18:00:00Z' } });
    const program = manifest.accounts[0].channels[0].programs[0] as { end?: string };
    program.end = '2026-06-01T17:00:00Z';

    // WHEN the runtime reads it
    let error: unknown;
    try {
      desiredState(manifest, 'edited.json');
    } catch (caught) {
      error = caught;
    }

    // THEN it is a terminal error naming the program's path, the field and what is allowed
    expect(isTerminal(error)).toBe(true);
    expect((error as Error).message).toMatch(/test\/demo\/news\/show: end: received 2026-06-01T17:00:00Z; allowed: a time after start \(2026-06-01T18:00:00.000Z\)/);
  });

  test('refuses a fourth program declared running even when the windows do not overlap (declared running counts)', () => {
    const shows = Object.fromEntries([0, 1, 2, 3].map((i) => [`show${i}`, { start: iso(NOW + i * 3_600_000), end: iso(NOW + (i + 1) * 3_600_000) }]));

    expect(() => manifestOf(shows)).toThrow(/test\/demo\/news\/show3: state: .*at most 3 running programs per channel/);
  });
});

describe('planning a schedule change', () => {
  test('updates the ingest\'s live config in place: no replace, no disruption', () => {
    // GIVEN a running channel whose program has no schedule
    const before = manifestOf({ show: {} });
    const applied = topology(before);

    // WHEN the program gets a start and an end
    const next = manifestOf({ show: { start: iso(NOW + 60_000), end: iso(NOW + 120_000) } });
    const result = plan({ desired: topology(next), observed: running(before), applied: new Map(applied.map((s) => [s.name, s])), now: NOW });

    // THEN only the ingest changes, in place
    expect(result.actions.filter((a) => a.kind !== 'keep')).toEqual([
      expect.objectContaining({ kind: 'update', role: 'ingest', reason: 'live config changed: program show changed (in place, no restart)', disruptions: [] }),
    ]);
  });
});

describe('upcomingTimers', () => {
  test('include the boundaries ahead of running programs on running channels', () => {
    const manifest = manifestOf({
      a: { start: iso(NOW + 10_000), end: iso(NOW + 20_000) },
      b: { start: iso(NOW - 10_000), end: iso(NOW + 30_000) },
      c: { state: 'stopped', start: iso(NOW + 5_000) },
    });

    expect(upcomingTimers(desiredState(manifest, 'test'), NOW)).toEqual([NOW + 10_000, NOW + 20_000, NOW + 30_000]);
  });

  test('leave out programs of a stopped channel', () => {
    const manifest = manifestOf({ a: { start: iso(NOW + 10_000) } }, { state: 'stopped' });

    expect(upcomingTimers(desiredState(manifest, 'test'), NOW)).toEqual([]);
  });
});

describe('program status', () => {
  function programStates(manifest: Manifest, now: number): Record<string, string> {
    const [status] = computeStatus({
      desired: desiredState(manifest, 'test'), observed: [], generation: 1, errors: new Map(), ingestHealth: new Map(), previous: new Map(), now,
    });
    return Object.fromEntries(status.programs!.map((p) => [p.name, p.state]));
  }

  test('says scheduled, recording, ended or stopped from the declared state and the schedule', () => {
    const manifest = manifestOf({
      later: { start: iso(NOW + 10_000) },
      now: { start: iso(NOW - 10_000), end: iso(NOW + 10_000) },
      over: { end: iso(NOW - 1) },
      off: { state: 'stopped' },
    });

    expect(programStates(manifest, NOW)).toEqual({ later: 'scheduled', now: 'recording', over: 'ended', off: 'stopped' });
    expect(programStates(manifest, NOW + 10_000)).toEqual({ later: 'recording', now: 'ended', over: 'ended', off: 'stopped' });
  });

  test('says stopped for every program of a stopped channel', () => {
    expect(programStates(manifestOf({ show: {} }, { state: 'stopped' }), NOW)).toEqual({ show: 'stopped' });
  });
});
