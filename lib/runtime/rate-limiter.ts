/**
 * Requeue rate limiting in the manner of client-go's workqueue: a per-item exponential backoff (each
 * failure of the same workload doubles its delay, up to a cap) combined with a global token bucket
 * (a burst of failures across many workloads cannot hammer the engine). The slower of the two wins.
 * Time is passed in (epoch ms), so the limiters are pure and testable.
 */

export interface RateLimiter {
  /** Delay in ms before `item` may be retried, counting this as one more failure. */
  when(item: string, now: number): number;
  /** The item succeeded: its backoff starts over. */
  forget(item: string): void;
  /** Failures recorded for `item` since it last succeeded. */
  retries(item: string): number;
}

/** delay = base * 2^failures, capped. */
export class ItemExponentialBackoff implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(readonly baseMs: number, readonly maxMs: number) {}

  when(item: string): number {
    const failures = this.failures.get(item) ?? 0;
    this.failures.set(item, failures + 1);
    // Past ~50 doublings the float overflows the cap anyway; stop computing powers there.
    return failures > 50 ? this.maxMs : Math.min(this.maxMs, this.baseMs * 2 ** failures);
  }

  forget(item: string): void {
    this.failures.delete(item);
  }

  retries(item: string): number {
    return this.failures.get(item) ?? 0;
  }
}

/** A token bucket of `burst` tokens refilled at `perSecond`: each retry takes a token or waits for one. */
export class TokenBucket implements RateLimiter {
  private tokens: number;
  private last?: number;

  constructor(readonly perSecond: number, readonly burst: number) {
    this.tokens = burst;
  }

  when(_item: string, now: number): number {
    if (this.last !== undefined) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    this.tokens -= 1;
    // A negative balance is a reservation: the caller waits until the bucket has refilled to zero.
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000);
  }

  forget(): void {}

  retries(): number {
    return 0;
  }
}

/** The largest delay of several limiters (client-go's MaxOfRateLimiter). */
export class MaxOf implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(item: string, now: number): number {
    return Math.max(...this.limiters.map((limiter) => limiter.when(item, now)));
  }

  forget(item: string): void {
    for (const limiter of this.limiters) limiter.forget(item);
  }

  retries(item: string): number {
    return Math.max(...this.limiters.map((limiter) => limiter.retries(item)));
  }
}

/**
 * The controller's default: 250 ms doubling to 60 s per workload (processes and containers take
 * hundreds of ms to start, so client-go's 5 ms start would only spin), and 10 retries per second
 * with a burst of 100 overall.
 */
export function defaultRateLimiter(): RateLimiter {
  return new MaxOf(new ItemExponentialBackoff(250, 60_000), new TokenBucket(10, 100));
}
