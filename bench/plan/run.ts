/**
 * bench/plan: the planner on 10,000 desired workloads against 10,000 observed ones, half of them changed
 * (their spec hash differs), with the last applied specs at hand so every replace is explained field by
 * field — what `livestack plan` does after observing. Target (issue 5): <= 200 ms.
 *
 *   npm run bench:plan
 *
 * The specs are real: topology() of one manifest with 10,000 workloads (a key service, one origin and
 * 9,998 channels). The figure is the median of RUNS plans after WARMUP unmeasured ones.
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Manifest, MANIFEST_API_VERSION } from '../../lib/model/manifest';
import { ObservedWorkload } from '../../lib/runtime/drivers/driver';
import { plan } from '../../lib/runtime/plan';
import { topology } from '../../lib/topology';
import { WorkloadSpec } from '../../lib/contract/workload-spec';

const WORKLOADS = 10_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const WARMUP = 3;

function manifest(channels: number, bitrateKbps: number): Manifest {
  return {
    apiVersion: MANIFEST_API_VERSION,
    accounts: [{
      name: 'bench',
      path: 'bench/bench',
      image: 'livestack/runtime:bench',
      bindAddress: '127.0.0.1',
      storage: { volume: 'bench-storage' },
      network: { name: 'bench-net' },
      keyDelivery: { port: 8090, allowList: [] },
      limits: { maxChannels: channels },
      endpoints: [{
        name: 'main', path: 'bench/bench/main', port: 8080, scaleUnits: 0, corsAllowedOrigins: ['*'], allowList: [],
        hostNames: [], trustedProxies: [], maxCacheAgeSeconds: 86400, state: 'running',
      }],
      channels: Array.from({ length: channels }, (_, i) => ({
        name: `ch${i}`,
        path: `bench/bench/ch${i}`,
        protocols: ['rtmp' as const],
        port: 10_000 + i,
        streamKey: { kind: 'generated' as const, id: `bench-ch${i}-stream-key` },
        ingestAllowList: [],
        previewAllowList: [],
        keyFrameIntervalSeconds: 2,
        segmentDurationSeconds: 4,
        encoding: {
          type: 'standard' as const,
          preset: 'Custom' as const,
          // Half of the channels get another bitrate in the "changed" manifest: a replace each.
          ladder: [{ name: '720p', width: 1280, height: 720, videoBitrateKbps: i % 2 === 0 ? bitrateKbps : 3000, profile: 'high' as const }],
          audioBitrateKbps: 128,
          speedPreset: 'veryfast' as const,
        },
        state: 'running' as const,
        programs: [],
      })),
      keyPolicies: [],
      deliveryPolicies: [],
      locators: [],
    }],
  };
}

function observedFrom(specs: WorkloadSpec[]): ObservedWorkload[] {
  return specs.map((s) => ({
    name: s.name, account: s.account, role: s.role, owner: s.owner, specHash: s.specHash, liveHash: s.liveHash,
    phase: 'running', restarts: 0,
  }));
}

const channels = WORKLOADS - 2;
const applied = topology(manifest(channels, 3000));
const desired = topology(manifest(channels, 4500));
const observed = observedFrom(applied);
const appliedRecords = new Map(applied.map((s) => [s.name, s]));
const changed = desired.filter((s, i) => s.specHash !== applied[i].specHash).length;
if (desired.length !== WORKLOADS || observed.length !== WORKLOADS) throw new Error(`bench/plan: expected ${WORKLOADS} workloads, built ${desired.length}`);

const samples: number[] = [];
let result = plan({ desired, observed, applied: appliedRecords, now: Date.now() });
for (let run = 0; run < WARMUP + RUNS; run++) {
  const started = performance.now();
  result = plan({ desired, observed, applied: appliedRecords, now: Date.now() });
  if (run >= WARMUP) samples.push(performance.now() - started);
}
samples.sort((a, b) => a - b);
const median = samples[Math.floor(samples.length / 2)];

console.log(`bench/plan: ${WORKLOADS} desired vs ${WORKLOADS} observed, ${changed} changed; median of ${RUNS} runs after ${WARMUP} warm-up; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`plan: ${result.counts.replace} to replace, ${result.counts.keep} unchanged; e.g. "${result.actions[0].reason}"`);
console.log(`min ${samples[0].toFixed(1)} ms, median ${median.toFixed(1)} ms, max ${samples[samples.length - 1].toFixed(1)} ms`);
console.log(`RESULT plan_ms_10000=${median.toFixed(1)}`);
