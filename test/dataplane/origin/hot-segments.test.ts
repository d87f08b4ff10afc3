import { HotSegments } from '../../../lib/dataplane/origin/hot-segments';
import { LocatorEntry } from '../../../lib/dataplane/origin/locator-table';

const entry = {} as LocatorEntry;
const shared = Buffer.alloc(1 << 20);
/** An answer of `bytes` (a view of one shared buffer: the table counts lengths). */
const answer = (bytes: number) => ({ entry, body: shared.subarray(0, bytes), headers: [], encrypted: false });

describe('HotSegments (the origin fast path)', () => {
  test('reuses an answer within its freshness and not after', () => {
    const hot = new HotSegments({ ttlMs: 1000, maxEntries: 100, maxBytes: 1 << 20 });
    hot.remember('/a/720p/1.m4s', answer(10), 0);
    expect(hot.get('/a/720p/1.m4s', 999)?.body.length).toBe(10);
    expect(hot.get('/a/720p/1.m4s', 1000)).toBeUndefined();
  });

  test('drops stale answers as new ones arrive, so a long live event holds only about a second of segments', () => {
    // GIVEN a viewer fetching a new 1 MB segment every 2 s for an hour
    const hot = new HotSegments({ ttlMs: 1000, maxEntries: 20_000, maxBytes: 1 << 30 });
    for (let i = 0; i < 1800; i++) hot.remember(`/a/720p/${i}.m4s`, answer(1 << 20), i * 2000);
    // THEN only the last answer is held, not 1,800 MB of bodies
    expect(hot.size).toBe(1);
    expect(hot.totalBytes).toBe(1 << 20);
  });

  test('never holds more body bytes than its budget, evicting the oldest first', () => {
    const hot = new HotSegments({ ttlMs: 60_000, maxEntries: 20_000, maxBytes: 10_000 });
    for (let i = 0; i < 50; i++) hot.remember(`/a/720p/${i}.m4s`, answer(1000), i);
    expect(hot.totalBytes).toBeLessThanOrEqual(10_000);
    expect(hot.get('/a/720p/49.m4s', 50)).toBeDefined();
    expect(hot.get('/a/720p/0.m4s', 50)).toBeUndefined();
  });

  test('counts a re-remembered target once', () => {
    const hot = new HotSegments({ ttlMs: 1000, maxEntries: 10, maxBytes: 10_000 });
    hot.remember('/a/x.m4s', answer(100), 0);
    hot.remember('/a/x.m4s', answer(300), 10);
    expect(hot.size).toBe(1);
    expect(hot.totalBytes).toBe(300);
  });

  test('keeps no target with a query or an escape, and nothing larger than the budget', () => {
    const hot = new HotSegments({ ttlMs: 1000, maxEntries: 10, maxBytes: 500 });
    hot.remember('/a/x.m4s?v=1', answer(10), 0);
    hot.remember('/a/%78.m4s', answer(10), 0);
    hot.remember('/a/big.m4s', answer(501), 0);
    expect(hot.size).toBe(0);
  });
});
