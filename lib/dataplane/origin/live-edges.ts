/**
 * The origin's view of low-latency live edges (`assets/<asset>/<rendition>/live.json`): loaded on
 * first use, then kept current by watching the rendition folder (inotify: ingest renames a new
 * live.json into place on every part), so a request held for a part is answered within milliseconds
 * of the part being written. Each change bumps a version; waiters are woken on every change and
 * decide for themselves whether what they wait for is there. Unused edges are forgotten.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIVE_EDGE_FILE, LiveEdge, liveEdge, storagePaths } from '../../contract/storage-layout';
import { isSafeFileName } from '../media-playlist';

export interface LiveEdgeView {
  /** Undefined while the rendition has no live edge (not written yet, or unreadable). */
  readonly edge?: LiveEdge;
  /** Grows on every change. */
  readonly version: number;
}

interface Entry {
  view: LiveEdgeView;
  text?: string;
  watcher?: fs.FSWatcher;
  readonly waiters: Set<() => void>;
  lastUsed: number;
  loaded: Promise<void>;
  reloading: boolean;
  reloadAgain: boolean;
}

/** A safety net for file systems without change events (network file systems): re-read this often. */
const RELOAD_MS = 250;
const IDLE_MS = 60_000;

export class LiveEdges {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;
  private version = 0;

  constructor(private readonly storageDir: string) {
    this.timer = setInterval(() => this.sweep(), RELOAD_MS);
    this.timer.unref();
  }

  /** The live edge of a rendition as last read. */
  async get(asset: string, rendition: string): Promise<LiveEdgeView> {
    const entry = this.entry(asset, rendition);
    await entry.loaded;
    return entry.view;
  }

  /**
   * Resolves when the rendition's live edge has a version other than `since` (true), or after
   * `timeoutMs` (false).
   */
  changed(asset: string, rendition: string, since: number, timeoutMs: number): Promise<boolean> {
    const entry = this.entry(asset, rendition);
    if (entry.view.version !== since) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        entry.waiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        entry.waiters.delete(wake);
        resolve(false);
      }, timeoutMs);
      entry.waiters.add(wake);
    });
  }

  /** Requests held right now (for metrics and tests). */
  get waiting(): number {
    let count = 0;
    for (const entry of this.entries.values()) count += entry.waiters.size;
    return count;
  }

  close(): void {
    clearInterval(this.timer);
    for (const entry of this.entries.values()) entry.watcher?.close();
    this.entries.clear();
  }

  private entry(asset: string, rendition: string): Entry {
    const key = `${asset}/${rendition}`;
    let entry = this.entries.get(key);
    if (!entry) {
      if (!isSafeFileName(asset) || !isSafeFileName(rendition)) throw new Error(`bad live edge name ${key}`);
      entry = { view: { version: 0 }, waiters: new Set(), lastUsed: Date.now(), loaded: Promise.resolve(), reloading: false, reloadAgain: false };
      this.entries.set(key, entry);
      const dir = storagePaths.renditionDir(this.storageDir, asset, rendition);
      const created = entry;
      try {
        created.watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || name === LIVE_EDGE_FILE) this.reload(created, asset, rendition);
        });
        created.watcher.on('error', () => created.watcher?.close());
      } catch {
        // No folder yet (nothing recorded): the timer reads it until it exists.
      }
      created.loaded = this.reload(created, asset, rendition);
    }
    entry.lastUsed = Date.now();
    return entry;
  }

  private reload(entry: Entry, asset: string, rendition: string): Promise<void> {
    if (entry.reloading) {
      entry.reloadAgain = true;
      return entry.loaded;
    }
    entry.reloading = true;
    const file = storagePaths.liveEdge(this.storageDir, asset, rendition);
    entry.loaded = fs.promises.readFile(file, 'utf8').catch(() => undefined).then((text) => {
      entry.reloading = false;
      if (text !== undefined && text !== entry.text) {
        entry.text = text;
        entry.view = { edge: parse(text), version: ++this.version };
        for (const wake of [...entry.waiters]) wake();
      }
      if (entry.reloadAgain) {
        entry.reloadAgain = false;
        return this.reload(entry, asset, rendition);
      }
      return undefined;
    });
    return entry.loaded;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) {
      if (now - entry.lastUsed > IDLE_MS && entry.waiters.size === 0) {
        entry.watcher?.close();
        this.entries.delete(key);
        continue;
      }
      const [asset, rendition] = key.split('/');
      if (!entry.watcher) {
        try {
          entry.watcher = fs.watch(path.dirname(storagePaths.liveEdge(this.storageDir, asset, rendition)), { persistent: false }, (_e, name) => {
            if (name === null || name === LIVE_EDGE_FILE) void this.reload(entry, asset, rendition);
          });
          entry.watcher.on('error', () => entry.watcher?.close());
        } catch {
          // Still no folder.
        }
      }
      void this.reload(entry, asset, rendition);
    }
  }
}

function parse(text: string): LiveEdge | undefined {
  try {
    const result = liveEdge.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
