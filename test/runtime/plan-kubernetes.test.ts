import { Testing, TerraformStack } from 'cdktf';
import { Encoding, EncodingPreset, KubernetesOptions, MediaAccount, Platform, RuntimeImage } from '../../constructs';
import { Manifest } from '../../lib/model/manifest';
import { planAgainstPrevious } from '../../lib/runtime/plan';
import { renderMarkdown } from '../../lib/runtime/plan-render';
import { LivestackStackSynthesis } from '../../lib/synth/stack-synthesis';
import { topology } from '../../lib/topology';

interface Variant {
  readonly scaleUnits?: number;
  readonly encoding?: Encoding;
  readonly platform?: KubernetesOptions;
}

/** A Kubernetes app (one endpoint, one channel, one program, one locator) with some props changed. */
function manifestOf(variant: Variant = {}): Manifest {
  const stack = new TerraformStack(Testing.app(), 'test');
  const account = new MediaAccount(stack, 'tv', { runtimeImage: RuntimeImage.fromName('registry.example.com/livestack/runtime:0.1.0'), platform: Platform.kubernetes(variant.platform) });
  const endpoint = account.addStreamingEndpoint('main', { scaleUnits: variant.scaleUnits ?? 2 });
  account.addLiveChannel('news', { encoding: variant.encoding }).addProgram('live').publish(endpoint, { locatorId: '0f6a3a52-5d1c-4b8e-9c3e-2a7d4b1e9f00' });
  return LivestackStackSynthesis.of(stack).render().manifest;
}

/** The plan of `next` against the synthesis of `before`, as `livestack plan --against` makes it. */
function planChange(before: Manifest, next: Manifest) {
  const result = planAgainstPrevious({ desired: topology(next), now: Date.parse('2026-06-01T12:00:00Z') }, topology(before));
  return { ...result, byRole: (role: string) => result.actions.find((a) => a.role === role)! };
}

describe('plans of a Kubernetes app, against its previous synthesis', () => {
  test('an unchanged app plans nothing', () => {
    expect(planChange(manifestOf(), manifestOf()).hasChanges).toBe(false);
  });

  test('changing scaleUnits only changes the replica count: an update in place, no disruption', () => {
    // GIVEN an endpoint of 2 scale units WHEN it gets 3
    const plan = planChange(manifestOf({ scaleUnits: 2 }), manifestOf({ scaleUnits: 3 }));

    // THEN the origin is updated in place with its new replica count; nothing else changes
    expect(plan.byRole('origin')).toMatchObject({ kind: 'update', reason: 'replicas 2 -> 3 (in place, no restart)', disruptions: [] });
    expect(plan.counts).toEqual({ create: 0, replace: 0, update: 1, delete: 0, keep: 2 });
  });

  test('changing a ladder replaces the ingest Deployment, flagged as disrupting live ingest', () => {
    const plan = planChange(manifestOf(), manifestOf({ encoding: Encoding.standard(EncodingPreset.default1080p()) }));
    expect(plan.byRole('ingest')).toMatchObject({
      kind: 'replace',
      // The requests follow the ladder: the plan says so.
      reason: 'changed: config.channel.encoding, kubernetes.resources.limits, kubernetes.resources.requests',
      disruptions: ['live-ingest-restarted'],
    });
    expect(plan.byRole('origin').kind).toBe('keep');
    expect(renderMarkdown(plan)).toContain('| replace | `ls-tv-ingest-news` | ingest | changed: config.channel.encoding, kubernetes.resources.limits, kubernetes.resources.requests | live ingest restarted |');
  });

  test('a new Service type for the ingests is in place, but flagged: encoders get another address', () => {
    const plan = planChange(manifestOf(), manifestOf({ platform: { services: { ingest: { type: 'NodePort' } } } }));
    expect(plan.byRole('ingest')).toMatchObject({ kind: 'update', reason: 'service LoadBalancer -> NodePort (in place, no restart)', disruptions: ['ingest-url-changed'] });
  });

  test('turning on origin autoscaling is in place; new resource requests replace (the pods restart)', () => {
    expect(planChange(manifestOf(), manifestOf({ platform: { originAutoscaling: { maxReplicas: 6 } } })).byRole('origin')).toMatchObject({
      kind: 'update', reason: 'autoscaler none -> up to 6 at 70% CPU (in place, no restart)', disruptions: [],
    });
    expect(planChange(manifestOf(), manifestOf({ platform: { resources: { origin: { requests: { cpu: '1' } } } } })).byRole('origin')).toMatchObject({
      kind: 'replace', reason: 'changed: kubernetes.resources.requests', disruptions: ['playback-interrupted'],
    });
  });

  test('moving the account to another namespace replaces every workload', () => {
    const plan = planChange(manifestOf(), manifestOf({ platform: { namespace: 'media' } }));
    expect(plan.actions.map((a) => [a.role, a.kind])).toEqual([['ingest', 'replace'], ['keys', 'replace'], ['origin', 'replace']]);
    expect(plan.byRole('ingest').reason).toContain('kubernetes.namespace');
  });
});
