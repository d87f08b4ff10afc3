/**
 * bench/balancer: what the balancer's hop costs. A scaled endpoint (3 origin replicas behind the
 * balancer) on the local driver serves a recorded asset; wrk requests the same URLs from one replica
 * directly and through the balancer, in the same run:
 *   - a segment (~100 KB, from the replica's cache): requests/s and p99 at 50 connections;
 *   - a tiny request (unknown locator, 404) at 1 connection: the latency the hop adds.
 * On 2 shared cores the balancer competes with the replicas and wrk for CPU, so the ratios are the
 * whole-machine cost of the hop, not the balancer's ceiling; the CPU time each process spent per
 * request (from /proc) says what the hop costs whatever else the machine is doing.
 *
 *   npm run bench:balancer
 *
 * Last line: `RESULT balancer_segment_ratio=<through ÷ direct> balancer_added_p50_ms=<ms> balancer_added_p99_ms=<ms>`.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { promisify } from 'node:util';
import { createAssetFixture } from '../support/asset-fixture';
import { startLocalStack } from '../support/local-stack';
import { testManifest } from '../support/manifest-fixtures';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

function millis(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!match) throw new Error(`cannot read wrk latency ${text}`);
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

async function wrk(url: string, connections: number): Promise<WrkResult> {
  const { stdout } = await run('wrk', ['-t1', `-c${connections}`, `-d${SECONDS}s`, '--latency', url], { maxBuffer: 1024 * 1024 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const p50 = /^\s+50%\s+(\S+)/m.exec(stdout)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(stdout)?.[1];
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  if (!rps || !p50 || !p99) throw new Error(`cannot read wrk output:\n${stdout}`);
  return {
    requests,
    rps,
    p50Ms: millis(p50),
    p99Ms: millis(p99),
    errors: (errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) + (url.includes('/no-such-locator/') ? 0 : non2xx),
  };
}

/**
 * CPU seconds (user + system) used so far by the processes of a workload: the local driver runs each
 * in its own process group (the balancer's nginx master and worker are in its group).
 */
function cpuSeconds(groupLeader: number): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    if (Number(fields[2]) === groupLeader) total += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return total;
}

/** wrk against `url`, with the CPU microseconds per request each of `pids` spent meanwhile. */
async function measure(url: string, connections: number, pids: Record<string, number>): Promise<WrkResult & { cpuUs: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const result = await wrk(url, connections);
  const cpuUs = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, ((cpuSeconds(pid) - before[name]) * 1e6) / result.requests]));
  return { ...result, cpuUs };
}

function row(label: string, r: WrkResult & { cpuUs: Record<string, number> }): string {
  const cpu = Object.entries(r.cpuUs).map(([name, us]) => `${name} ${us.toFixed(0)} µs`).join(', ');
  return `${label.padEnd(30)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50Ms.toFixed(2).padStart(6)} ms  p99 ${r.p99Ms.toFixed(2).padStart(6)} ms  errors ${r.errors}  CPU/request: ${cpu}`;
}

async function main(): Promise<void> {
  const base = await testManifest({ channelState: 'stopped' });
  const account = base.accounts[0];
  const manifest = { ...base, accounts: [{ ...account, endpoints: [{ ...account.endpoints[0], scaleUnits: 3, maxCacheAgeSeconds: 60 }] }] };
  const stack = await startLocalStack(manifest);
  try {
    await stack.waitReady();
    const locator = account.locators[0];
    await createAssetFixture({ storageDir: stack.storageDir(account.name), asset: 'news-live', channel: 'news', program: 'live', durationSeconds: 10, x264Preset: 'veryfast' });
    const replica = stack.specs.find((s) => s.role === 'origin')!;
    const direct = `http://127.0.0.1:${replica.internalPorts[0]}`;
    const through = `http://127.0.0.1:${account.endpoints[0].port}`;
    const media = await (await fetch(`${direct}/${locator.id}/index.m3u8`)).text();
    const mediaPath = media.split('\n').find((l) => l && !l.startsWith('#'));
    if (!mediaPath) throw new Error(`no media playlist in the master playlist:\n${media}`);
    const mediaUrl = new URL(mediaPath, `${direct}/${locator.id}/index.m3u8`);
    const segmentPath = (await (await fetch(mediaUrl)).text()).split('\n').find((l) => l && !l.startsWith('#'));
    const segment = new URL(segmentPath!, mediaUrl).pathname;
    const size = (await (await fetch(`${direct}${segment}`)).arrayBuffer()).byteLength;
    const pid = (name: string) => stack.driver.processes(name).workload!;
    const balancer = stack.specs.find((s) => s.role === 'balancer')!;
    const replicas = stack.specs.filter((s) => s.role === 'origin');
    const directPids = { origin: pid(replica.name) };
    const balancerPid = pid(balancer.name);
    const originPids = replicas.map((r) => pid(r.name));
    // Warm every replica's cache with the segment (the balancer spreads the first requests).
    for (let i = 0; i < 6; i++) await (await fetch(`${through}${segment}`)).arrayBuffer();

    process.stdout.write(`bench/balancer: wrk -t1, ${SECONDS} s per run, segment ${segment.split('/').pop()} (${size} bytes); load average before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    const viaBalancer = async (url: string, connections: number) => {
      const before = originPids.reduce((sum, p) => sum + cpuSeconds(p), 0);
      const result = await measure(url, connections, { balancer: balancerPid });
      const origins = ((originPids.reduce((sum, p) => sum + cpuSeconds(p), 0) - before) * 1e6) / result.requests;
      return { ...result, cpuUs: { ...result.cpuUs, 'origins (3)': origins } };
    };
    const segDirect = await measure(`${direct}${segment}`, 50, directPids);
    process.stdout.write(`${row('segment, 50 conns, direct', segDirect)}\n`);
    const segThrough = await viaBalancer(`${through}${segment}`, 50);
    process.stdout.write(`${row('segment, 50 conns, balancer', segThrough)}\n`);
    const tinyDirect = await measure(`${direct}/no-such-locator/x.m3u8`, 1, directPids);
    process.stdout.write(`${row('404, 1 conn, direct', tinyDirect)}\n`);
    const tinyThrough = await viaBalancer(`${through}/no-such-locator/x.m3u8`, 1);
    process.stdout.write(`${row('404, 1 conn, balancer', tinyThrough)}\n`);
    process.stdout.write(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    const ratio = segThrough.rps / segDirect.rps;
    process.stdout.write(`RESULT balancer_segment_ratio=${ratio.toFixed(2)} balancer_added_p50_ms=${(tinyThrough.p50Ms - tinyDirect.p50Ms).toFixed(3)} balancer_added_p99_ms=${(tinyThrough.p99Ms - tinyDirect.p99Ms).toFixed(3)}\n`);
  } finally {
    await stack.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`bench/balancer failed: ${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
