/**
 * Held playlist requests that become answerable together are let go a batch per event-loop turn, so
 * work queued meanwhile (a normal request) runs between batches rather than after all of them.
 */
import { BatchedRelease } from '../../../lib/dataplane/origin/batched-release';

it('lets waiters go in order, a batch per event-loop turn, with other work between batches', async () => {
  const release = new BatchedRelease(32);
  const order: string[] = [];
  const waiters = Array.from({ length: 100 }, (_v, i) => release.turn().then(() => { order.push(`w${i}`); }));
  // Queued after the first batch's turn: it runs once that batch is out, before the second batch.
  setImmediate(() => order.push('other'));
  await Promise.all(waiters);
  expect(order.filter((o) => o !== 'other')).toEqual(Array.from({ length: 100 }, (_v, i) => `w${i}`));
  expect(order.indexOf('other')).toBe(32);
});
