/**
 * A small time-to-live cache with in-flight coalescing: concurrent misses for one key share one load,
 * so a burst of players at the live edge reads and renders a playlist once. Bounded by entry count.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; loadedAt: number; expiresAt: number }>();
  private readonly loading = new Map<string, Promise<V>>();

  constructor(private readonly maxEntries: number) {}

  /** The fresh cached value, if any (synchronous fast path). */
  peek(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    return entry && entry.expiresAt > now ? entry.value : undefined;
  }

  async get(key: string, ttlMs: number, load: () => Promise<V>): Promise<V> {
    const fresh = this.peek(key);
    if (fresh !== undefined) return fresh;
    const inFlight = this.loading.get(key);
    if (inFlight) return inFlight;
    const promise = load().then(
      (value) => {
        this.set(key, value, ttlMs);
        return value;
      },
    ).finally(() => this.loading.delete(key));
    this.loading.set(key, promise);
    return promise;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(key);
    const now = Date.now();
    this.entries.set(key, { value, loadedAt: now, expiresAt: now + ttlMs });
  }

  /** Forgets the value of `key` if it was loaded more than `ageMs` ago (the next get loads it again). */
  forgetOlderThan(key: string, ageMs: number, now = Date.now()): void {
    const entry = this.entries.get(key);
    if (entry && now - entry.loadedAt > ageMs) this.entries.delete(key);
  }
}
