/**
 * bench/origin: how fast the origin serves segments next to nginx serving the very same files, and
 * how many token-checked key requests the key service answers, in one run on this machine.
 *
 * - A Default720p-like asset (720p/540p/360p + AAC, 2-s fMP4 segments, 20 s) is encoded by ffmpeg into
 *   the account storage of a real origin and key service, run by the controller and local driver
 *   (1 origin replica, as `livestack up` runs an endpoint with 0 scale units).
 * - nginx (1 worker, sendfile, keep-alive, no access log) serves the storage's asset folder.
 * - wrk (CONNECTIONS connections, 1 thread) cycles over every segment file of the asset: nginx, the
 *   origin clear, the origin AES-128 encrypted and the origin CENC-protected (`cenc` scheme, AES-CTR
 *   on the samples with senc/saiz/saio; hot cache: a warm-up pass first), ROUNDS rounds
 *   interleaved; figures are medians over rounds. One wrk thread leaves the server under test a core
 *   of its own on this 2-core machine; the CPU each server spent per request is printed beside, a
 *   figure that does not depend on the load generator.
 * - wrk asks the key service for the content key with an HS256 JWT in the Authorization header:
 *   once with distinct tokens (every request a full jose verification), once with one token repeated.
 *
 *   npm run bench:origin                     (BENCH_SECONDS=8 BENCH_ROUNDS=3 by default)
 *
 * Targets (issues 4 and 13): clear, encrypted and CENC >= 0.8x nginx requests/s, origin p99 <= 20 ms
 * at 50 connections, key service >= 5,000 token-checked key requests/s. Also printed: the cold cost of
 * protecting each segment once (what a cache miss costs the origin), from one pass over new files.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { storagePaths } from '../../lib/contract/storage-layout';
import { clearPolicy, commonEncryptionPolicy, envelopePolicy, viewersKeyPolicy } from '../support/origin-manifest';
import { OriginStack, startOriginStack } from '../support/origin-stack';
import { viewerToken } from '../support/tokens';
import { freePort } from '../support/manifest-fixtures';
import { StaticNginx, startStaticNginx } from './nginx-static';
import { cpuSeconds } from './process-cpu';
import { wrk, WrkRequest, WrkResult } from './wrk';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
const THREADS = 1;
const ASSET = 'show';
const LADDER = [
  { name: '720p', width: 1280, height: 720, bitrateKbps: 3000 },
  { name: '540p', width: 960, height: 540, bitrateKbps: 1800 },
  { name: '360p', width: 640, height: 360, bitrateKbps: 800 },
];
/** Distinct tokens for the full-verification key run: more than it can use at the target rate. */
const DISTINCT_TOKENS = 250_000;

type Target = 'nginx' | 'origin clear' | 'origin encrypted' | 'origin cenc';

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-origin-'));
  const jwtSecret = randomBytes(32).toString('base64url');
  const clearId = randomUUID();
  const protectedId = randomUUID();
  const cencId = randomUUID();
  let stack: OriginStack | undefined;
  let nginx: StaticNginx | undefined;
  const cleanUp = async () => {
    await nginx?.stop();
    await stack?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
  try {
    console.log(`bench/origin: ${CONNECTIONS} connections, ${THREADS} wrk threads, ${SECONDS} s per run, ${ROUNDS} rounds (medians); load average at start ${loadAverage()}`);
    stack = await startOriginStack({
      env: { ...process.env, TF_VAR_jwt_secret: jwtSecret },
      programs: [{ name: 'show', assetName: ASSET }],
      keyPolicies: [viewersKeyPolicy()],
      deliveryPolicies: [clearPolicy(['hls']), envelopePolicy('viewers'), commonEncryptionPolicy('cenc', 'viewers')],
      locators: [
        { name: 'clear', program: 'show', deliveryPolicy: 'clear', id: clearId },
        { name: 'protected', program: 'show', deliveryPolicy: 'envelope', id: protectedId },
        { name: 'drm', program: 'show', deliveryPolicy: 'cenc', id: cencId },
      ],
      assets: [{ asset: ASSET, durationSeconds: 20, video: LADDER }],
    });
    const files = segmentFiles(stack.storageDir);
    const bytes = files.reduce((sum, f) => sum + fs.statSync(path.join(storagePaths.assetDir(stack!.storageDir, ASSET), f)).size, 0);
    console.log(`asset: ${files.length} segment files, ${(bytes / files.length / 1024).toFixed(0)} KiB on average (${LADDER.map((r) => `${r.name} ${r.bitrateKbps} kb/s`).join(', ')}, AAC)`);
    nginx = await startStaticNginx(path.join(stack.storageDir, 'assets'), await freePort(), scratch);

    const originPid = workloadPid(stack, 'origin');
    const targets: Record<Target, { url: string; requests: WrkRequest[]; pid: number }> = {
      nginx: { url: `http://127.0.0.1:${nginx.port}`, requests: files.map((f) => ({ path: `/${ASSET}/${f}` })), pid: nginx.pid },
      'origin clear': { url: stack.url(''), requests: files.map((f) => ({ path: `/${clearId}/${f}` })), pid: originPid },
      'origin encrypted': { url: stack.url(''), requests: files.map((f) => ({ path: `/${protectedId}/${f}` })), pid: originPid },
      'origin cenc': { url: stack.url(''), requests: files.map((f) => ({ path: `/${cencId}/${f}` })), pid: originPid },
    };
    await checkSameBytes(targets, files[0]);
    const cold = await coldProtection(stack.url(`/${cencId}`), files, originPid);
    console.log(`cenc, cold: ${files.length} segments protected once each in ${cold.wallMs.toFixed(0)} ms (${(cold.wallMs / files.length).toFixed(2)} ms a segment, ${cold.cpuMicrosPerSegment.toFixed(0)} µs origin CPU a segment, read from disk included)`);

    const run = (target: Target, seconds: number) => withCpu(targets[target].pid, () => wrk({ ...targets[target], connections: CONNECTIONS, threads: THREADS, seconds, scratch }));
    for (const target of Object.keys(targets) as Target[]) await run(target, 2);
    const results: Record<Target, Measured[]> = { nginx: [], 'origin clear': [], 'origin encrypted': [], 'origin cenc': [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of Object.keys(targets) as Target[]) results[target].push(await run(target, SECONDS));
    }

    console.log('\ntarget            requests/s     MB/s   p50 ms   p99 ms  server CPU µs/request  errors  (per round: requests/s)');
    const summary = {} as Record<Target, { rps: number; p99: number }>;
    for (const target of Object.keys(results) as Target[]) {
      const rounds = results[target];
      const rps = median(rounds.map((r) => r.requestsPerSecond));
      const p99 = median(rounds.map((r) => r.p99Ms));
      summary[target] = { rps, p99 };
      const errors = rounds.reduce((sum, r) => sum + r.errors, 0);
      console.log(`${target.padEnd(16)} ${rps.toFixed(0).padStart(11)} ${median(rounds.map((r) => r.megabytesPerSecond)).toFixed(0).padStart(8)} ${median(rounds.map((r) => r.p50Ms)).toFixed(2).padStart(8)} ${p99.toFixed(2).padStart(8)} ${median(rounds.map((r) => r.cpuMicrosPerRequest)).toFixed(0).padStart(22)} ${String(errors).padStart(7)}  (${rounds.map((r) => r.requestsPerSecond.toFixed(0)).join(', ')})`);
      if (errors > 0) throw new Error(`${target}: ${errors} failed requests; the figures would not mean anything`);
    }

    const keyPath = new URL(stack.keyUrl(protectedId)).pathname;
    const keyBase = `http://127.0.0.1:${stack.keyPort}`;
    const token = () => viewerToken(jwtSecret, { claims: { entitlement: 'premium', sub: randomUUID() } });
    const keysPid = workloadPid(stack, 'keys');
    const keyRun = (requests: WrkRequest[]) => withCpu(keysPid, () => wrk({ url: keyBase, requests, connections: CONNECTIONS, threads: THREADS, seconds: SECONDS, scratch }));
    const keyRuns = { distinct: [] as Measured[], repeated: [] as Measured[] };
    const repeated = [{ path: keyPath, authorization: `Bearer ${token()}` }];
    for (let round = 0; round < ROUNDS; round++) {
      // Fresh tokens every round: the key service remembers verified tokens for a minute.
      const distinct = Array.from({ length: DISTINCT_TOKENS }, () => ({ path: keyPath, authorization: `Bearer ${token()}` }));
      const result = await keyRun(distinct);
      if (result.requests > DISTINCT_TOKENS) console.log(`note: ${result.requests - DISTINCT_TOKENS} requests reused a token (raise DISTINCT_TOKENS)`);
      keyRuns.distinct.push(result);
      keyRuns.repeated.push(await keyRun(repeated));
    }
    console.log('\nkey service (GET /keys/<id>, HS256 JWT in Authorization)     requests/s   p99 ms  server CPU µs/request  errors');
    for (const [mode, label] of [['distinct', 'distinct tokens (each verified by jose)'], ['repeated', 'one token repeated (verified once, then cached)']] as const) {
      const rounds = keyRuns[mode];
      const errors = rounds.reduce((sum, r) => sum + r.errors, 0);
      console.log(`${label.padEnd(60)} ${median(rounds.map((r) => r.requestsPerSecond)).toFixed(0).padStart(10)} ${median(rounds.map((r) => r.p99Ms)).toFixed(2).padStart(8)} ${median(rounds.map((r) => r.cpuMicrosPerRequest)).toFixed(0).padStart(22)} ${String(errors).padStart(7)}`);
      if (errors > 0) throw new Error(`key service (${label}): ${errors} refused or failed requests`);
    }
    const keyRps = median(keyRuns.distinct.map((r) => r.requestsPerSecond));

    const clearRatio = summary['origin clear'].rps / summary.nginx.rps;
    const encryptedRatio = summary['origin encrypted'].rps / summary.nginx.rps;
    const cencRatio = summary['origin cenc'].rps / summary.nginx.rps;
    const p99 = Math.max(summary['origin clear'].p99, summary['origin encrypted'].p99, summary['origin cenc'].p99);
    console.log(`\nratios to nginx: clear ${clearRatio.toFixed(2)}, encrypted ${encryptedRatio.toFixed(2)}, cenc ${cencRatio.toFixed(2)} (targets >= 0.80); origin p99 ${p99.toFixed(2)} ms (target <= 20); key service ${keyRps.toFixed(0)} requests/s with distinct tokens (target >= 5000)`);
    console.log(`load average at end ${loadAverage()}; reproduce with: npm run bench:origin (BENCH_SECONDS=${SECONDS} BENCH_ROUNDS=${ROUNDS})`);
    console.log(`RESULT origin_clear_ratio=${clearRatio.toFixed(2)} origin_encrypted_ratio=${encryptedRatio.toFixed(2)} origin_cenc_ratio=${cencRatio.toFixed(2)} cenc_cold_ms_per_segment=${(cold.wallMs / files.length).toFixed(2)} p99_ms=${p99.toFixed(2)} key_rps=${keyRps.toFixed(0)}`);
  } finally {
    await cleanUp();
  }
}

type Measured = WrkResult & { readonly cpuMicrosPerRequest: number };

/** A wrk run, with the CPU the server `pid` (and its children) spent per request meanwhile. */
async function withCpu(pid: number, load: () => Promise<WrkResult>): Promise<Measured> {
  const before = cpuSeconds(pid);
  const result = await load();
  return { ...result, cpuMicrosPerRequest: ((cpuSeconds(pid) - before) * 1e6) / result.requests };
}

function workloadPid(stack: OriginStack, role: 'origin' | 'keys'): number {
  const spec = stack.local.specs.find((s) => s.role === role);
  const pid = spec && stack.local.driver.processes(spec.name).workload;
  if (!pid) throw new Error(`the ${role} workload has no running process`);
  return pid;
}

/** `<rendition>/<file>` of every media segment of the asset, in playback order per rendition. */
function segmentFiles(storageDir: string): string[] {
  const assetDir = storagePaths.assetDir(storageDir, ASSET);
  return fs.readdirSync(assetDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => fs.readdirSync(path.join(assetDir, entry.name)).filter((f) => f.endsWith('.m4s')).sort().map((f) => `${entry.name}/${f}`));
}

/** The comparison is only fair if nginx and the clear origin send the same bytes (and encryption changes them). */
async function checkSameBytes(targets: Record<Target, { url: string; requests: WrkRequest[] }>, file: string): Promise<void> {
  const body = async (target: Target) => {
    const response = await fetch(`${targets[target].url}${targets[target].requests[0].path}`);
    if (!response.ok) throw new Error(`${target}: GET ${file} answered ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  };
  const [nginx, clear, encrypted, cenc] = await Promise.all([body('nginx'), body('origin clear'), body('origin encrypted'), body('origin cenc')]);
  if (!nginx.equals(clear)) throw new Error(`nginx and the origin sent different bytes for ${file}`);
  if (encrypted.equals(clear) || encrypted.length !== (Math.floor(clear.length / 16) + 1) * 16) throw new Error(`the encrypted origin did not send AES-128-CBC of ${file}`);
  if (cenc.length <= clear.length || !cenc.includes(Buffer.from('senc'))) throw new Error(`the cenc origin did not send a protected fragment (with senc) of ${file}`);
}

/** One request per segment, in order, each a cache miss: what protecting costs the first viewer. */
async function coldProtection(base: string, files: readonly string[], pid: number): Promise<{ wallMs: number; cpuMicrosPerSegment: number }> {
  const before = cpuSeconds(pid);
  const started = performance.now();
  for (const file of files) {
    const response = await fetch(`${base}/${file}`);
    if (!response.ok) throw new Error(`origin cenc: GET ${file} answered ${response.status}`);
    await response.arrayBuffer();
  }
  return { wallMs: performance.now() - started, cpuMicrosPerSegment: ((cpuSeconds(pid) - before) * 1e6) / files.length };
}

main().catch((error: Error) => {
  console.error(`bench/origin failed: ${error.stack ?? error.message}`);
  process.exitCode = 1;
});
