/**
 * The origin's live edges: a request waiting for a change is woken as soon as ingest renames a new
 * live.json into place (inotify, not a poll), and gives up after its timeout.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LiveEdge, storagePaths } from '../../../lib/contract/storage-layout';
import { writeFileAtomic } from '../../../lib/util/files';
import { LiveEdges } from '../../../lib/dataplane/origin/live-edges';

let storage: string;
let edges: LiveEdges;

const edge = (parts: number): LiveEdge => ({
  version: 1,
  partTargetSeconds: 0.334,
  segments: [{
    sequence: 3, discontinuitySequence: 0, discontinuity: false, uri: 'r-seg-4.m4s', mapUri: 'r-init.mp4', complete: false, durationSeconds: 0.3 * parts,
    parts: Array.from({ length: parts }, (_v, i) => ({ offset: 24 + i * 100, length: 100, durationSeconds: 0.3, independent: i === 0 })),
  }],
});

beforeEach(() => {
  storage = fs.mkdtempSync(path.join(os.tmpdir(), 'live-edges-'));
  fs.mkdirSync(storagePaths.renditionDir(storage, 'show', '180p'), { recursive: true });
  edges = new LiveEdges(storage);
});

afterEach(() => {
  edges.close();
  fs.rmSync(storage, { recursive: true, force: true });
});

it('wakes a waiting request within a few milliseconds of a new live edge being renamed into place', async () => {
  writeFileAtomic(storagePaths.liveEdge(storage, 'show', '180p'), JSON.stringify(edge(1)));
  const first = await edges.get('show', '180p');
  expect(first.edge?.segments[0].parts).toHaveLength(1);
  const waiting = edges.changed('show', '180p', first.version, 5_000);
  expect(edges.waiting).toBe(1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const written = performance.now();
  writeFileAtomic(storagePaths.liveEdge(storage, 'show', '180p'), JSON.stringify(edge(2)));
  expect(await waiting).toBe(true);
  // Far below the 250-ms re-read that backs up file systems without change events.
  expect(performance.now() - written).toBeLessThan(50);
  expect((await edges.get('show', '180p')).edge?.segments[0].parts).toHaveLength(2);
});

it('gives up after the timeout when nothing changes, and reads a rendition that has no live edge as none', async () => {
  const none = await edges.get('show', '90p');
  expect(none.edge).toBeUndefined();
  const started = performance.now();
  expect(await edges.changed('show', '90p', none.version, 100)).toBe(false);
  expect(performance.now() - started).toBeGreaterThanOrEqual(95);
  expect(edges.waiting).toBe(0);
});
