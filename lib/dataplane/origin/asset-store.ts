/**
 * Read side of the storage layout for the origin: asset descriptors and stored playlists (short-lived
 * caches: they change while recording) and file bodies (segments and init sections, kept in a byte-
 * bounded LRU; revalidated by inode/mtime/size every few seconds in case a writer replaced a file).
 * Every path is built from validated names and checked to stay inside the asset folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetDescriptor, assetDescriptor, storagePaths } from '../../contract/storage-layout';
import { ByteLru } from './byte-lru';
import { isSafeFileName, parseMediaPlaylist, PlaylistError, StoredPlaylist } from '../media-playlist';
import { FragmentTiming, fragmentTiming, InitTiming, initTiming } from '../mp4/fragment-timing';
import { TtlCache } from './ttl-cache';
import { parseJsonWith } from '../common/workload-env';

/** A request for something the storage does not hold (answered 404). */
export class NotFoundError extends Error {}
/** Storage holds something malformed (answered 500, logged). */
export class StorageError extends Error {}

export interface FileEntry {
  readonly body: Buffer;
  /** Identity of the file version: encrypted copies are cached under it. */
  readonly stamp: string;
  readonly byteLength: number;
  validatedAt: number;
}

export interface AssetStoreOptions {
  /** Budget of the file-body LRU. */
  readonly cacheBytes: number;
  /** How long descriptors and playlists are reused while recording. */
  readonly metadataTtlMs: number;
  /** How long a cached file body is trusted before it is checked against the file again. */
  readonly revalidateMs: number;
}

export class AssetStore {
  private readonly descriptors: TtlCache<AssetDescriptor>;
  private readonly playlists: TtlCache<StoredPlaylist>;
  private readonly files: ByteLru<FileEntry>;
  private readonly fileLoads = new Map<string, Promise<FileEntry>>();
  private readonly timings = new Map<string, FragmentTiming | null>();
  private readonly initTimings = new Map<string, InitTiming | null>();
  private readonly assetList: TtlCache<AssetDescriptor[]>;

  constructor(private readonly storageDir: string, private readonly options: AssetStoreOptions) {
    this.descriptors = new TtlCache(1024);
    this.playlists = new TtlCache(4096);
    this.files = new ByteLru(options.cacheBytes);
    this.assetList = new TtlCache(1);
  }

  descriptor(asset: string): Promise<AssetDescriptor> {
    return this.descriptors.get(asset, this.options.metadataTtlMs, async () => {
      const file = storagePaths.assetDescriptor(this.storageDir, asset);
      const text = await readText(file, `asset ${asset} has no recording yet`);
      try {
        return parseJsonWith(assetDescriptor, text, file);
      } catch (error) {
        throw new StorageError((error as Error).message);
      }
    });
  }

  /** @param maxAgeMs reload when the cached copy is older than this (a player asks for a segment it has not seen) */
  playlist(asset: string, rendition: string, maxAgeMs?: number): Promise<StoredPlaylist> {
    const key = `${asset}/${rendition}`;
    if (maxAgeMs !== undefined) this.playlists.forgetOlderThan(key, maxAgeMs);
    return this.playlists.get(key, this.options.metadataTtlMs, async () => {
      const file = storagePaths.renditionPlaylist(this.storageDir, asset, rendition);
      const text = await readText(file, `asset ${asset} has no playlist for rendition ${rendition} yet`);
      try {
        return parseMediaPlaylist(text, file);
      } catch (error) {
        if (error instanceof PlaylistError) throw new StorageError(error.message);
        throw error;
      }
    });
  }

  /** Every asset descriptor in the storage (for channel previews). */
  assets(): Promise<AssetDescriptor[]> {
    return this.assetList.get('all', this.options.metadataTtlMs, async () => {
      const dir = path.join(this.storageDir, 'assets');
      const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
      const found = await Promise.all(names.map((name) => this.descriptor(name).catch(() => undefined)));
      return found.filter((d): d is AssetDescriptor => d !== undefined);
    });
  }

  /** A cached file body that is still trusted, without touching the disk. */
  peekFile(asset: string, rendition: string, file: string, now: number): FileEntry | undefined {
    const entry = this.files.get(this.filePath(asset, rendition, file));
    return entry && now - entry.validatedAt < this.options.revalidateMs ? entry : undefined;
  }

  /** A file body, from the cache when its file has not changed, else from disk. */
  loadFile(asset: string, rendition: string, file: string): Promise<FileEntry> {
    const full = this.filePath(asset, rendition, file);
    const inFlight = this.fileLoads.get(full);
    if (inFlight) return inFlight;
    const load = this.readFile(full).finally(() => this.fileLoads.delete(full));
    this.fileLoads.set(full, load);
    return load;
  }

  /** `length` bytes at `offset` of a file that may still be growing (a part of a segment being written). */
  async readRange(asset: string, rendition: string, file: string, offset: number, length: number): Promise<Buffer> {
    const full = this.filePath(asset, rendition, file);
    const handle = await fs.promises.open(full, 'r').catch(() => {
      throw new NotFoundError(`no such file ${rendition}/${file}`);
    });
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      if (bytesRead !== length) throw new StorageError(`${rendition}/${file} holds ${bytesRead} of the ${length} bytes at ${offset} its live edge lists`);
      return buffer;
    } finally {
      await handle.close();
    }
  }

  /** Timescale and edit list of an init section (undefined if it has no media header). */
  async initTiming(asset: string, rendition: string, initFile: string): Promise<InitTiming | undefined> {
    const full = this.filePath(asset, rendition, initFile);
    if (!this.initTimings.has(full)) {
      const entry = await this.loadFile(asset, rendition, initFile);
      this.remember(this.initTimings, full, initTiming(entry.body) ?? null);
    }
    return this.initTimings.get(full) ?? undefined;
  }

  /** Decode time and first composition offset of a stored fragment (undefined if it carries none). */
  async fragmentTiming(asset: string, rendition: string, file: string): Promise<FragmentTiming | undefined> {
    const full = this.filePath(asset, rendition, file);
    if (!this.timings.has(full)) {
      const head = await readHead(full, 64 * 1024);
      this.remember(this.timings, full, fragmentTiming(head) ?? null);
    }
    return this.timings.get(full) ?? undefined;
  }

  private remember<T>(map: Map<string, T>, key: string, value: T): void {
    if (map.size >= 200_000) map.clear();
    map.set(key, value);
  }

  private filePath(asset: string, rendition: string, file: string): string {
    if (!isSafeFileName(rendition) || !isSafeFileName(file)) throw new NotFoundError(`no such file ${rendition}/${file}`);
    const assetDir = storagePaths.assetDir(this.storageDir, asset);
    const full = path.join(assetDir, rendition, file);
    if (!full.startsWith(assetDir + path.sep)) throw new NotFoundError(`no such file ${rendition}/${file}`);
    return full;
  }

  private async readFile(full: string): Promise<FileEntry> {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(full);
    } catch {
      throw new NotFoundError(`no such file ${path.basename(path.dirname(full))}/${path.basename(full)}`);
    }
    if (!stat.isFile()) throw new NotFoundError(`no such file ${path.basename(full)}`);
    const stamp = `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
    const cached = this.files.get(full);
    if (cached && cached.stamp === stamp) {
      cached.validatedAt = Date.now();
      return cached;
    }
    const body = await fs.promises.readFile(full);
    const entry: FileEntry = { body, stamp, byteLength: body.length, validatedAt: Date.now() };
    this.files.set(full, entry);
    return entry;
  }
}

async function readText(file: string, missing: string): Promise<string> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(missing);
    throw new StorageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r').catch(() => {
    throw new NotFoundError(`no such file ${path.basename(file)}`);
  });
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
