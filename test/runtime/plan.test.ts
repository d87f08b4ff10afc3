import { Testing, TerraformStack } from 'cdktf';
import { Encoding, EncodingPreset, MediaAccount, RuntimeImage } from '../../constructs';
import { dockerContainer } from '../../lib/render/docker-container';
import { containerCreateOptions } from '../../lib/runtime/drivers/docker-container-spec';
import { LiveChannelProps } from '../../constructs/live-channel';
import { ProgramProps } from '../../constructs/program';
import { LocatorProps } from '../../constructs/locator';
import { Manifest } from '../../lib/model/manifest';
import { ObservedWorkload } from '../../lib/runtime/drivers/driver';
import { plan, PlannedAction } from '../../lib/runtime/plan';
import { renderJson, renderMarkdown, renderTable } from '../../lib/runtime/plan-render';
import { LivestackStackSynthesis } from '../../lib/synth/stack-synthesis';
import { topology } from '../../lib/topology';
import { WorkloadSpec } from '../../lib/contract/workload-spec';

interface Variant {
  readonly channel?: LiveChannelProps;
  readonly program?: ProgramProps;
  readonly locator?: Omit<LocatorProps, 'endpoint'>;
}

/** The basic app (one endpoint, one channel, one program, one locator) with some props changed. */
function manifestOf(variant: Variant = {}): Manifest {
  const stack = new TerraformStack(Testing.app(), 'test');
  const account = new MediaAccount(stack, 'demo');
  const endpoint = account.addStreamingEndpoint('main');
  account.addLiveChannel('news', variant.channel).addProgram('live', variant.program).publish(endpoint, { locatorId: LOCATOR_ID, ...variant.locator });
  return LivestackStackSynthesis.of(stack).render().manifest;
}

const LOCATOR_ID = '0f6a3a52-5d1c-4b8e-9c3e-2a7d4b1e9f00';
const NOW = Date.parse('2026-06-01T12:00:00Z');

/** What a driver would report for workloads created from `specs`. */
function running(specs: WorkloadSpec[], phase: ObservedWorkload['phase'] = 'running'): ObservedWorkload[] {
  return specs.map((s) => ({
    name: s.name, account: s.account, role: s.role, owner: s.owner, specHash: s.specHash, liveHash: s.liveHash, phase, restarts: 0,
  }));
}

/** Plan `next` against a world running `before` (and with `before` as the last applied specs). */
function planChange(before: Manifest, next: Manifest): { actions: readonly PlannedAction[]; byRole: (role: string) => PlannedAction } {
  const applied = topology(before);
  const result = plan({ desired: topology(next), observed: running(applied), applied: new Map(applied.map((s) => [s.name, s])), now: NOW });
  return { actions: result.actions, byRole: (role) => result.actions.find((a) => a.role === role)! };
}

describe('plan', () => {
  test('creates every workload of a new app, and plans nothing once they run', () => {
    // GIVEN the basic app and an empty world
    const specs = topology(manifestOf());

    // WHEN planned before and after its workloads exist
    const first = plan({ desired: specs, observed: [], now: NOW });
    const second = plan({ desired: specs, observed: running(specs), now: NOW });

    // THEN the first creates each one with its reason, the second changes nothing
    expect(first.actions.map((a) => [a.kind, a.role, a.reason])).toEqual([
      ['create', 'ingest', 'new workload'], ['create', 'keys', 'new workload'], ['create', 'origin', 'new workload'],
    ]);
    expect(first.hasChanges).toBe(true);
    expect(second.hasChanges).toBe(false);
    expect(second.counts).toEqual({ create: 0, replace: 0, update: 0, delete: 0, keep: 3 });
  });

  test('changing a channel\'s ladder replaces its ingest, flagged as restarting live ingest', () => {
    // GIVEN a running 720p ladder channel
    const before = manifestOf();

    // WHEN its ladder becomes 1080p
    const { byRole } = planChange(before, manifestOf({ channel: { encoding: Encoding.standard(EncodingPreset.default1080p()) } }));

    // THEN the ingest is replaced, the reason names the changed field, and the disruption is flagged
    expect(byRole('ingest')).toMatchObject({ kind: 'replace', reason: 'changed: config.channel.encoding', disruptions: ['live-ingest-restarted'] });
    // AND the origin and key service are left alone
    expect(byRole('origin').kind).toBe('keep');
    expect(byRole('keys').kind).toBe('keep');
  });

  test('changing a channel\'s port also flags the ingest URL change', () => {
    const { byRole } = planChange(manifestOf(), manifestOf({ channel: { port: 1999 } }));

    expect(byRole('ingest').kind).toBe('replace');
    expect(byRole('ingest').disruptions).toEqual(['live-ingest-restarted', 'ingest-url-changed']);
  });

  test('adding SRT to a live RTMP channel replaces its ingest, flagged as a protocol and URL change', () => {
    const { byRole } = planChange(manifestOf(), manifestOf({ channel: { protocols: ['rtmp', 'srt'] } }));

    expect(byRole('ingest')).toMatchObject({
      kind: 'replace',
      reason: 'changed: config.channel.protocols, config.channel.srt, ports',
      disruptions: ['live-ingest-restarted', 'ingest-url-changed', 'ingest-protocol-changed'],
    });
    expect(renderTable(plan({ desired: topology(manifestOf({ channel: { protocols: ['srt'] } })), observed: running(topology(manifestOf())), applied: new Map(topology(manifestOf()).map((s) => [s.name, s])), now: NOW })))
      .toContain('ingest protocols changed (encoders must switch)');
  });

  test.each([
    ['key length', { keyLength: 16 as const }, { keyLength: 32 as const }],
    ['latency', {}, { latency: '500ms' }],
  ])('changing only the SRT %s restarts the ingest but changes no URL or protocol', (_what, before, after) => {
    const srt = (settings: object): Variant => ({ channel: { protocols: ['srt'], srt: settings } });

    const { byRole } = planChange(manifestOf(srt(before)), manifestOf(srt(after)));

    expect(byRole('ingest')).toMatchObject({ kind: 'replace', reason: 'changed: config.channel.srt', disruptions: ['live-ingest-restarted'] });
  });

  test('changing a locator\'s end time updates the origin in place and restarts no ingest', () => {
    // GIVEN a locator without an end
    const before = manifestOf();

    // WHEN it gets an end time in the future
    const { actions, byRole } = planChange(before, manifestOf({ locator: { end: '2026-12-31T00:00:00Z' } }));

    // THEN only the origin's live config changes, without a restart or a withdrawn locator
    expect(byRole('origin')).toMatchObject({ kind: 'update', disruptions: [] });
    expect(byRole('origin').reason).toMatch(/locator news-live-locator-main changed \(in place, no restart\)/);
    expect(actions.filter((a) => a.kind !== 'keep').map((a) => a.role)).toEqual(['origin']);
  });

  test('publishing a second locator updates the origin in place: no playback is interrupted', () => {
    // GIVEN the basic app, WHEN its program is published a second time (another locator)
    const before = manifestOf();
    const stack = new TerraformStack(Testing.app(), 'test');
    const account = new MediaAccount(stack, 'demo');
    const endpoint = account.addStreamingEndpoint('main');
    const program = account.addLiveChannel('news').addProgram('live');
    program.publish(endpoint, { locatorId: LOCATOR_ID });
    program.publish(endpoint, { id: 'Partner' });
    const { actions, byRole } = planChange(before, LivestackStackSynthesis.of(stack).render().manifest);

    // THEN only the origin's live config changes
    expect(byRole('origin')).toMatchObject({ kind: 'update', reason: 'live config changed: locator news-live-partner added (in place, no restart)', disruptions: [] });
    expect(actions.filter((a) => a.kind !== 'keep').map((a) => a.role)).toEqual(['origin']);
  });

  test('moving a locator\'s end into the past flags the locator as withdrawn', () => {
    const { byRole } = planChange(manifestOf(), manifestOf({ locator: { end: '2026-01-01T00:00:00Z' } }));

    expect(byRole('origin')).toMatchObject({ kind: 'update', disruptions: ['locator-withdrawn'], withdrawnLocators: ['news-live-locator-main'] });
  });

  test('stopping a program changes the ingest\'s live config only', () => {
    const { actions, byRole } = planChange(manifestOf(), manifestOf({ program: { state: 'stopped' } }));

    expect(byRole('ingest')).toMatchObject({ kind: 'update', reason: 'live config changed: program live changed (in place, no restart)' });
    expect(actions.filter((a) => a.kind !== 'keep').map((a) => a.role)).toEqual(['ingest']);
  });

  test('a channel declared stopped deletes its ingest, saying why and what stops', () => {
    const before = manifestOf();
    const next = manifestOf({ channel: { state: 'stopped' } });
    const applied = topology(before);
    const result = plan({
      desired: topology(next), observed: running(applied), applied: new Map(applied.map((s) => [s.name, s])),
      stopped: new Set(['test/demo/news']), now: NOW,
    });

    expect(result.actions[0]).toMatchObject({
      kind: 'delete', role: 'ingest', reason: 'declared stopped (test/demo/news); finalizes recordings first', disruptions: ['live-ingest-stopped', 'ingest-url-changed'],
    });
  });

  test('repairs an exited workload and recreates one removed behind its back, disrupting no one further', () => {
    // GIVEN the origin exited and the ingest gone, both applied before
    const specs = topology(manifestOf());
    const observed = running(specs).filter((w) => w.role !== 'ingest').map((w) => (w.role === 'origin' ? { ...w, phase: 'exited' as const, detail: 'exit code 1' } : w));

    // WHEN planned
    const result = plan({ desired: specs, observed, applied: new Map(specs.map((s) => [s.name, s])), now: NOW });

    // THEN both are brought back with reasons that say what happened
    const byRole = (role: string) => result.actions.find((a) => a.role === role)!;
    expect(byRole('origin')).toMatchObject({ kind: 'replace', reason: 'repair: exit code 1', disruptions: [] });
    expect(byRole('ingest')).toMatchObject({ kind: 'create', reason: 'missing: it was applied but is gone (removed outside livestack)' });
  });

  test('orders deletes before replaces, updates and creates', () => {
    const specs = topology(manifestOf());
    const stale = { ...running(specs)[0], name: 'ls-demo-ingest-old', owner: 'test/demo/old' };
    const observed = [...running(specs).filter((w) => w.role !== 'keys'), stale].map((w) => (w.role === 'origin' ? { ...w, specHash: 'other' } : w));

    const kinds = plan({ desired: specs, observed, now: NOW }).actions.map((a) => a.kind);

    expect(kinds).toEqual(['delete', 'replace', 'create', 'keep']);
  });
});

describe('plan across app edits', () => {
  /** An app with three channels on their own ports, each published; `without` leaves channels out. */
  const threeChannels = (without: string[] = [], baseImage = 'livestack/base:bookworm-node20'): Manifest => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const account = new MediaAccount(stack, 'demo', { runtimeImage: RuntimeImage.build({ baseImage }) });
    const endpoint = account.addStreamingEndpoint('main');
    const ports: Record<string, number> = { news: 1935, sports: 1936, weather: 1937 };
    for (const name of Object.keys(ports).filter((n) => !without.includes(n))) {
      account.addLiveChannel(name, { port: ports[name] }).addProgram('live').publish(endpoint);
    }
    return LivestackStackSynthesis.of(stack).render().manifest;
  };

  test('removing the first of three channels plans no change to the other two', () => {
    // GIVEN three channels running, WHEN the first is removed from the app
    const { actions } = planChange(threeChannels(), threeChannels(['news']));
    // THEN its ingest is deleted, the others' ingests are kept as they are (same ports, same URLs)
    expect(actions.filter((a) => a.role === 'ingest').map((a) => [a.kind, a.name])).toEqual([
      ['delete', 'ls-demo-ingest-news'], ['keep', 'ls-demo-ingest-sports'], ['keep', 'ls-demo-ingest-weather'],
    ]);
    // AND the origin drops the removed channel's locator in place, withdrawing nothing else
    expect(actions.find((a) => a.role === 'origin')).toEqual(expect.objectContaining({ kind: 'update', withdrawnLocators: ['news-live-locator-main'] }));
    expect(actions.filter((a) => a.kind === 'replace' || a.kind === 'create')).toEqual([]);
  });

  test('changing the runtime image\'s base replaces every workload, saying so, as it changes cdk.tf.json', () => {
    // GIVEN an app running on one base, WHEN it asks for another
    const before = threeChannels([], 'livestack/base:one');
    const after = threeChannels([], 'livestack/base:two');
    const { actions } = planChange(before, after);
    // THEN every workload is replaced because of its image build, and the container the docker driver creates changes with it
    expect(actions.map((a) => a.kind)).toEqual(actions.map(() => 'replace'));
    for (const action of actions) expect(action.reason).toBe('changed: imageBuild.baseImage');
    const [was, is] = [topology(before)[0], topology(after)[0]];
    expect(dockerContainer(is).imageBuild).toEqual({ dockerfile: 'images/Dockerfile', baseImage: 'livestack/base:two' });
    expect(containerCreateOptions(dockerContainer(is), {}).Labels).not.toEqual(containerCreateOptions(dockerContainer(was), {}).Labels);
    // AND cdk.tf.json builds the image on the new base
    const stack = new TerraformStack(Testing.app(), 'test');
    new MediaAccount(stack, 'demo', { runtimeImage: RuntimeImage.build({ baseImage: 'livestack/base:two' }) });
    const images = Object.values(JSON.parse(Testing.synth(stack, true)).resource.docker_image as Record<string, { build: { build_args: Record<string, string> } }>);
    expect(images.map((i) => i.build.build_args)).toEqual([{ BASE_IMAGE: 'livestack/base:two' }]);
  });
});

describe('plan rendering', () => {
  const change = () => {
    const { actions } = planChange(manifestOf(), manifestOf({ channel: { encoding: Encoding.passthrough() }, locator: { end: '2026-01-01T00:00:00Z' } }));
    const counts = { create: 0, replace: 0, update: 0, delete: 0, keep: 0 };
    for (const a of actions) counts[a.kind] += 1;
    return { actions, counts, hasChanges: true };
  };

  test('the table shows each change with its reason and disruption, and a summary', () => {
    const text = renderTable(change());

    expect(text).toMatch(/^ACTION\s+WORKLOAD\s+ROLE\s+REASON\s+DISRUPTION$/m);
    expect(text).toMatch(/-\/\+ replace\s+ls-demo-ingest-news\s+ingest\s+changed: config\.channel\.encoding\s+! live ingest restarted/);
    expect(text).toMatch(/~ update\s+ls-demo-origin-main-0\s+origin\s+.*! locator withdrawn: news-live-locator-main/);
    expect(text).toMatch(/Plan: 0 to create, 1 to replace, 1 to update in place, 0 to delete, 1 unchanged\.$/);
  });

  test('Markdown is a table for a pull request, with a warning when viewers or encoders are disrupted', () => {
    const text = renderMarkdown(change());

    expect(text).toContain('| Action | Workload | Role | Reason | Disruption |');
    expect(text).toContain('| replace | `ls-demo-ingest-news` | ingest | changed: config.channel.encoding | live ingest restarted |');
    expect(text).toContain(':warning: 2 actions disrupt viewers or encoders.');
  });

  test('JSON carries counts and actions for tools', () => {
    const json = JSON.parse(renderJson(change())) as { hasChanges: boolean; counts: Record<string, number>; actions: PlannedAction[] };

    expect(json.hasChanges).toBe(true);
    expect(json.counts.replace).toBe(1);
    expect(json.actions.map((a) => a.kind)).toEqual(['replace', 'update', 'keep']);
  });

  test('no form shows a locator id (its URLs are not guessable) or a stream key', () => {
    const plain = manifestOf({ channel: { streamKey: 'clear-text-stream-key' } });
    const { actions } = planChange(plain, manifestOf({ channel: { streamKey: 'another-stream-key' } }));
    const result = { actions, counts: { create: 0, replace: 1, update: 0, delete: 0, keep: 2 }, hasChanges: true };

    for (const text of [renderTable(result, { verbose: true }), renderMarkdown(result), renderJson(result)]) {
      expect(text).not.toContain(LOCATOR_ID);
      expect(text).not.toContain('clear-text-stream-key');
      expect(text).not.toContain('another-stream-key');
    }
  });
});
