/** Helpers of the balancer suites (local and Docker): per-replica request counts and a player loop. */
import * as http from 'node:http';

/** Sum of `livestack_origin_requests_total` answered 404 by each origin replica (its own /metrics). */
export async function originRequestCounts(replicaUrls: string[]): Promise<number[]> {
  return Promise.all(replicaUrls.map(async (url) => {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('livestack_origin_requests_total{') && line.includes('code="404"')) total += Number(line.split(' ').pop());
    }
    return total;
  }));
}

export interface LoopResult {
  readonly ok: number;
  /** What went wrong with each failed request (status or error). */
  readonly failed: string[];
  /** Requests retried because the keep-alive connection they were sent on had just been closed. */
  readonly retriedOnStaleConnection: number;
}

/**
 * Requests `url` back to back (2 players, keep-alive) until `stop()`; a request counts as ok when it
 * gets `expectStatus`. Like browsers and ffmpeg, a player sends a request again, once, when the idle
 * keep-alive connection it reused was closed before any answer (Node documents this pattern with
 * `request.reusedSocket`); anything else that goes wrong is a failure.
 */
export function requestLoop(url: string, expectStatus: number): { stop(): Promise<LoopResult> } {
  let running = true;
  let ok = 0;
  let retried = 0;
  const failed: string[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const once = () => new Promise<number>((resolve, reject) => {
    const request = http.get(url, { agent, timeout: 5_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('timed out after 5 s')));
    request.on('error', (error: NodeJS.ErrnoException) => {
      const stale = request.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up');
      reject(Object.assign(error, { stale }));
    });
  });
  const worker = async () => {
    while (running) {
      try {
        let status: number;
        try {
          status = await once();
        } catch (error) {
          if (!(error as { stale?: boolean }).stale) throw error;
          retried += 1;
          status = await once();
        }
        if (status === expectStatus) ok += 1;
        else failed.push(`status ${status}`);
      } catch (error) {
        failed.push((error as Error).message);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const workers = [worker(), worker()];
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      agent.destroy();
      return { ok, failed, retriedOnStaleConnection: retried };
    },
  };
}

/** Resolves once the balancer's /metrics says every replica answered its latest probe. */
export async function allUpstreamsUp(balancerUrl: string, replicas: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const text = await (await fetch(`${balancerUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
      const up = text.split('\n').filter((l) => l.startsWith('livestack_balancer_upstream_up{'));
      last = up.join('; ');
      if (up.length === replicas && up.every((l) => l.endsWith(' 1'))) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not every replica is up behind ${balancerUrl} after ${timeoutMs} ms: ${last}`);
}

/**
 * Attempts the balancer counted as failed (and retried on another replica), from its /metrics. They come
 * from nginx's access log, written at least every second and read twice a second: wait for it first.
 */
export async function failedAttempts(balancerUrl: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const text = await (await fetch(`${balancerUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  return text.split('\n')
    .filter((l) => l.startsWith('livestack_balancer_upstream_attempts_total{') && l.includes('result="failed"'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}
