/**
 * The origin's fast path: segment answers ready to write (body and header list), keyed by the exact
 * request target, kept for a moment. A hot segment costs one Map lookup, the allow-list and window
 * checks, and the write: no path parsing, no file-cache bookkeeping, no header building.
 *
 * Freshness is short (a file replaced in storage or a config change shows within `ttlMs`; a config
 * change clears everything at once), and only plain targets are kept (no query, no percent-escape),
 * so variants of one URL cannot fill the table.
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

export class HotSegments {
  private readonly table = new Map<string, HotSegment>();

  /** @param ttlMs how long an answer is reused; @param maxEntries the table is emptied when it reaches this */
  constructor(private readonly ttlMs: number, private readonly maxEntries: number) {}

  get(target: string, now: number): HotSegment | undefined {
    const hot = this.table.get(target);
    return hot !== undefined && hot.freshUntil > now ? hot : undefined;
  }

  remember(target: string, segment: Omit<HotSegment, 'freshUntil'>, now: number): void {
    if (target.includes('?') || target.includes('%')) return;
    if (this.table.size >= this.maxEntries) this.table.clear();
    this.table.set(target, { ...segment, freshUntil: now + this.ttlMs });
  }

  clear(): void {
    this.table.clear();
  }
}
