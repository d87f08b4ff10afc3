/**
 * Retention: which stored files a channel no longer needs. The decision is a pure function of what
 * the workload knows (planRetention); collecting that view from disk and removing files are kept
 * apart, so the rule can be property-tested and the file system version tested on its own.
 *
 * The rule, in short: a file an asset playlist references is never removed. The transcoder's files in
 * the channel area (`channels/<channel>/runs/<run>/...`) are a staging area: every running program
 * hard-links a segment into its asset as soon as it is complete, so the staging copy goes once it is
 * recorded (the bytes stay as long as an asset links them). A file that slid out of a running
 * program's archive window goes after a grace period, so a player that fetched the playlist just
 * before still finds it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where a transcoder run stands: still writing or not yet read to the end, read to the end, or left by an earlier process. */
export type RunState = 'active' | 'finished' | 'abandoned';

export interface ChannelFileView {
  readonly path: string;
  readonly run: string;
  readonly runState: RunState;
  /** A media segment (the rest: init sections, ffmpeg's playlists, files being written). */
  readonly segment: boolean;
  /** The segment was handed to every program that was recording when it completed. */
  readonly recorded: boolean;
}

export interface AssetFileView {
  readonly path: string;
  /** Some playlist of the asset refers to the file (a segment or an init section). */
  readonly referenced: boolean;
  /** When the file stopped being referenced (when it slid out of the window, or when the workload started). */
  readonly unreferencedSinceMs: number;
}

export interface RetentionView {
  readonly nowMs: number;
  /** How long an unreferenced asset file is kept for players that read an older playlist. */
  readonly graceMs: number;
  readonly channelFiles: readonly ChannelFileView[];
  readonly assetFiles: readonly AssetFileView[];
}

/** The paths retention removes now. */
export function planRetention(view: RetentionView): string[] {
  const remove: string[] = [];
  // A run's init section goes only once none of its segments waits to be recorded (each asset links it then).
  const waiting = new Set(view.channelFiles.filter((f) => f.segment && !f.recorded && f.runState !== 'abandoned').map((f) => f.run));
  for (const file of view.channelFiles) {
    if (file.runState === 'abandoned') remove.push(file.path);
    else if (file.segment ? file.recorded : file.runState === 'finished' && !waiting.has(file.run)) remove.push(file.path);
  }
  for (const file of view.assetFiles) {
    if (!file.referenced && view.nowMs - file.unreferencedSinceMs >= view.graceMs) remove.push(file.path);
  }
  return remove;
}

/** What the workload knows about its transcoder runs. */
export interface RunKnowledge {
  runState(run: string): RunState;
  isRecorded(segmentPath: string): boolean;
}

/** What the workload knows about one asset it records or recorded. */
export interface AssetKnowledge {
  readonly dir: string;
  /** Rendition folders the workload writes; any other folder (an earlier ladder's) is left alone. */
  readonly renditions: readonly string[];
  /** Absolute paths of every file its playlists reference. */
  readonly referenced: ReadonlySet<string>;
  /** Absolute path -> when it slid out of the window. */
  readonly droppedAt: ReadonlyMap<string, number>;
}

export interface CollectOptions {
  /** `channels/<channel>/runs`. */
  readonly runsDir: string;
  readonly runs: RunKnowledge;
  readonly assets: readonly AssetKnowledge[];
  /** Unreferenced files not dropped by this process count from here (the workload's start). */
  readonly bootMs: number;
  readonly nowMs: number;
  readonly graceMs: number;
}

/** Files of ingest's own making in an asset folder: not the descriptor, playlists or temp files of atomic writes. */
const ASSET_MEDIA_FILE = /\.(m4s|mp4)$/;
const SEGMENT_FILE = /\.m4s$/;

/** Reads the channel area and the assets' folders into a RetentionView. */
export function collectRetentionView(options: CollectOptions): RetentionView {
  const channelFiles: ChannelFileView[] = [];
  for (const run of listDir(options.runsDir)) {
    const runState = options.runs.runState(run);
    for (const rendition of listDir(path.join(options.runsDir, run))) {
      for (const name of listDir(path.join(options.runsDir, run, rendition))) {
        const file = path.join(options.runsDir, run, rendition, name);
        const segment = SEGMENT_FILE.test(name);
        channelFiles.push({ path: file, run, runState, segment, recorded: segment && options.runs.isRecorded(file) });
      }
    }
  }
  const assetFiles: AssetFileView[] = [];
  for (const asset of options.assets) {
    for (const rendition of asset.renditions) {
      for (const name of listDir(path.join(asset.dir, rendition))) {
        if (!ASSET_MEDIA_FILE.test(name)) continue;
        const file = path.join(asset.dir, rendition, name);
        assetFiles.push({
          path: file,
          referenced: asset.referenced.has(file),
          unreferencedSinceMs: asset.droppedAt.get(file) ?? options.bootMs,
        });
      }
    }
  }
  return { nowMs: options.nowMs, graceMs: options.graceMs, channelFiles, assetFiles };
}

/**
 * Removes the planned files, then the folders of runs that are over and left empty (an active run's
 * empty folder stays: ffmpeg made it and writes into it later). Returns how many files went.
 */
export function applyRetention(paths: readonly string[], runsDir: string, runs: Pick<RunKnowledge, 'runState'>): number {
  let removed = 0;
  for (const file of paths) {
    try {
      fs.unlinkSync(file);
      removed++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  for (const run of listDir(runsDir)) {
    if (runs.runState(run) === 'active') continue;
    const runDir = path.join(runsDir, run);
    for (const rendition of listDir(runDir)) removeIfEmpty(path.join(runDir, rendition));
    removeIfEmpty(runDir);
  }
  return removed;
}

function removeIfEmpty(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}
