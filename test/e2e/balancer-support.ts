/** Helpers of the balancer suites (local and Docker): per-replica request counts and a player loop. */

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
}

/** Requests `url` back to back (2 at a time) until `stop()`; a request counts as ok when it gets `expectStatus`. */
export function requestLoop(url: string, expectStatus: number): { stop(): Promise<LoopResult> } {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const worker = async () => {
    while (running) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        await response.body?.cancel();
        if (response.status === expectStatus) ok += 1;
        else failed.push(`status ${response.status}`);
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
      return { ok, failed };
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

/** Attempts the balancer counted as failed (and retried on another replica), from its /metrics. */
export async function failedAttempts(balancerUrl: string): Promise<number> {
  const text = await (await fetch(`${balancerUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  return text.split('\n')
    .filter((l) => l.startsWith('livestack_balancer_upstream_attempts_total{') && l.includes('result="failed"'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}
