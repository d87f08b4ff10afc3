/**
 * Keeps a channel from filling its storage to the last byte. A full disk mid-segment would leave
 * truncated media, playlists and health files that cannot be rewritten; so the ingest pauses
 * recording while the storage's free space is under a reserve (enough for the segments in flight, the
 * playlists and health), keeps the publisher connected and every recording it has, says why in its
 * health, and resumes by itself once twice the reserve is free again (hysteresis: no flapping at the
 * edge).
 */
import * as fs from 'node:fs';

/** The storage as health reports it. */
export interface StorageState {
  readonly freeBytes: number;
  readonly totalBytes: number;
  readonly reserveBytes: number;
  readonly recordingPaused: boolean;
  /** Why recording is paused, for status: free, total, reserve and what happens next. */
  readonly message?: string;
}

/** Bytes kept free: a few segments of the whole ladder (all renditions at once), at least 8 MiB. */
export function storageReserveBytes(totalKbps: number, segmentDurationSeconds: number): number {
  const segmentSet = (totalKbps * 1000 / 8) * segmentDurationSeconds;
  return Math.max(8 * 1024 * 1024, Math.ceil(segmentSet * 8));
}

export class StorageGuard {
  private paused = false;
  private last?: StorageState;

  constructor(
    private readonly storageDir: string,
    private readonly reserveBytes: number,
    private readonly onChange: (paused: boolean, state: StorageState) => void,
    private readonly statfs: (dir: string) => { bavail: number; blocks: number; bsize: number } = (dir) => fs.statfsSync(dir),
  ) {}

  /** Measures free space now, pausing or resuming on a crossing; returns what health shows. */
  check(): StorageState {
    const stat = this.statfs(this.storageDir);
    const freeBytes = stat.bavail * stat.bsize;
    const totalBytes = stat.blocks * stat.bsize;
    const next = this.paused ? freeBytes < 2 * this.reserveBytes : freeBytes < this.reserveBytes;
    const changed = next !== this.paused;
    this.paused = next;
    this.last = {
      freeBytes, totalBytes, reserveBytes: this.reserveBytes, recordingPaused: next,
      ...(next ? { message: `storage nearly full: ${mib(freeBytes)} free of ${mib(totalBytes)}, under the reserve of ${mib(this.reserveBytes)}; recording is paused (the publisher stays connected, recordings so far are intact) and resumes when ${mib(2 * this.reserveBytes)} are free` } : {}),
    };
    if (changed) this.onChange(next, this.last);
    return this.last;
  }

  /** The last measurement, if any. */
  get state(): StorageState | undefined {
    return this.last;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
