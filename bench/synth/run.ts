/**
 * bench/synth: livestack apps of N channels (each with a program and a locator) against raw cdktf apps
 * with the same number of docker_container resources, in the same run. Each measurement is a fresh
 * process; the figure is the median of RUNS. Targets (issue 2): ratio <= 1.3 at N = 1,000, and
 * 1,000 channels in <= 3 s. Then the same 1,000-channel app on Kubernetes (Platform.kubernetes():
 * @cdktf/provider-kubernetes resources) against its Docker synth: target (issue 10) ratio <= 1.3.
 *
 *   npm run bench:synth
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SIZES = [10, 100, 1000];
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function measure(kind: 'livestack' | 'kubernetes' | 'raw', n: number): number {
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-synth-${kind}-`));
    try {
      const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'app.ts'), kind, String(n), outdir], { encoding: 'utf8' });
      samples.push((JSON.parse(out) as { seconds: number }).seconds);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

console.log(`bench/synth: median of ${RUNS} fresh processes per cell; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('N      livestack_s  raw_cdktf_s  ratio');
let last = { ratio: 0, seconds: 0 };
const KUBERNETES_N = 1000;
for (const n of SIZES) {
  const livestack = measure('livestack', n);
  const raw = measure('raw', n);
  last = { ratio: livestack / raw, seconds: livestack };
  console.log(`${String(n).padEnd(6)} ${livestack.toFixed(3).padStart(11)}  ${raw.toFixed(3).padStart(11)}  ${(livestack / raw).toFixed(2).padStart(5)}`);
}
const kubernetes = measure('kubernetes', KUBERNETES_N);
const kubernetesRatio = kubernetes / last.seconds;
console.log(`\nKubernetes, ${KUBERNETES_N} channels: ${kubernetes.toFixed(3)} s against ${last.seconds.toFixed(3)} s for the same app on Docker: ${kubernetesRatio.toFixed(2)}x`);
console.log(`RESULT synth_ratio=${last.ratio.toFixed(2)} synth_seconds_1000=${last.seconds.toFixed(2)} kubernetes_ratio=${kubernetesRatio.toFixed(2)} kubernetes_seconds_1000=${kubernetes.toFixed(2)}`);
