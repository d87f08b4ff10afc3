/**
 * The origin's fast path: segment answers ready to write (body and header list), keyed by the exact
 * request target, kept for a moment. A hot segment costs one Map lookup, the allow-list and window
 * checks, and the write: no path parsing, no file-cache bookkeeping, no header building.
 *
 * Freshness is short (a file replaced in storage or a config change shows within `ttlMs`; a config
 * change clears everything at once), and only plain targets are kept (no query, no percent-escape),
 * so variants of one URL cannot fill the table.
 *
 * Bounded by bytes as well as entries, and stale answers are dropped as new ones arrive: the table
 * holds at most about `ttlMs` worth of served segments. (It once kept every body until it held 20,000
 * entries, whatever their age: the origin's memory grew by the data rate it served, without bound.)
 */
import { LocatorEntry } from './locator-table';

export interface HotSegment {
  readonly entry: LocatorEntry;
  readonly body: Buffer;
  /** Raw header list for `writeHead`. */
  readonly headers: readonly string[];
  readonly encrypted: boolean;
  readonly freshUntil: number;
}

export interface HotSegmentsLimits {
  /** How long an answer is reused. */
  readonly ttlMs: number;
  /** At most this many answers. */
  readonly maxEntries: number;
  /** At most this many body bytes in all (bodies are usually shared with the file caches). */
  readonly maxBytes: number;
}

export class HotSegments {
  /** In insertion order, which is freshness order (every entry lives `ttlMs`): the oldest come first. */
  private readonly table = new Map<string, HotSegment>();
  private bytes = 0;

  constructor(private readonly limits: HotSegmentsLimits) {}

  get(target: string, now: number): HotSegment | undefined {
    const hot = this.table.get(target);
    return hot !== undefined && hot.freshUntil > now ? hot : undefined;
  }

  remember(target: string, segment: Omit<HotSegment, 'freshUntil'>, now: number): void {
    if (target.includes('?') || target.includes('%')) return;
    if (segment.body.length > this.limits.maxBytes) return;
    this.drop(target);
    this.table.set(target, { ...segment, freshUntil: now + this.limits.ttlMs });
    this.bytes += segment.body.length;
    this.evict(now);
  }

  clear(): void {
    this.table.clear();
    this.bytes = 0;
  }

  /** Entries held (fresh or not yet evicted). */
  get size(): number {
    return this.table.size;
  }

  /** Body bytes held. */
  get totalBytes(): number {
    return this.bytes;
  }

  /** From the old end: whatever is stale, then whatever is over the bounds. */
  private evict(now: number): void {
    for (const [target, hot] of this.table) {
      const over = this.table.size > this.limits.maxEntries || this.bytes > this.limits.maxBytes;
      if (!over && hot.freshUntil > now) break;
      this.drop(target);
    }
  }

  private drop(target: string): void {
    const hot = this.table.get(target);
    if (hot === undefined) return;
    this.table.delete(target);
    this.bytes -= hot.body.length;
  }
}
