/**
 * Programs record the channel into their assets. For every segment the transcoder finishes, each
 * running program hard-links it (and its run's init section) into its asset folder and appends it to
 * the asset's playlist; the running program's archive window slides; `asset.json` carries what the
 * origin needs (codecs, sizes, measured bandwidths). Several programs share the same bytes.
 *
 * Declared state drives it (live config): a program switched to `stopped` gets EXT-X-ENDLIST and
 * keeps everything it holds; a program removed from the channel is stopped the same way; a stopped
 * program started again continues its asset after a discontinuity, and its window applies again.
 * A program's schedule is applied by the caller (program-scheduler.ts), which declares it running only
 * within its window; here a scheduled program also takes only the segments whose middle lies within its
 * window, so its first and last segments are the same whenever the timer fires.
 * The files on disk are the truth: a restarted workload picks its assets up from them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProgramManifest } from '../../model/manifest';
import { Logger } from '../common/log';
import { parseMediaPlaylist } from '../media-playlist';
import { parseJsonWith } from '../common/workload-env';
import { AssetDescriptor, assetDescriptor, StoredRendition, storagePaths } from '../../contract/storage-layout';
import { writeFileAtomic } from '../../util/files';
import { LiveEdgeModel, LiveSegmentIdentity } from './asset-live-edge';
import { AssetPlaylist } from './asset-playlist';
import { incompleteSegment } from '../mp4/boxes';
import { fragmentSampleCount, InitFacts, initFacts } from '../mp4/cmaf-facts';
import { AssetKnowledge } from './retention';
import { PartEvent, SegmentEvent } from './run-output';
import { RenditionPlan } from './transcode-args';

export interface RecorderOptions {
  readonly storageDir: string;
  readonly channel: string;
  readonly segmentDurationSeconds: number;
  readonly renditions: readonly RenditionPlan[];
  readonly log: Logger;
  /**
   * TEST ONLY: caps every program's archive window (seconds), so a test can watch a window slide
   * without waiting the 5-minute minimum. Set through LIVESTACK_TEST_ONLY_ARCHIVE_WINDOW_SECONDS.
   */
  readonly testOnlyWindowCapSeconds?: number;
  /** Set for a low-latency channel: its recordings get live edges with parts of this target duration. */
  readonly partTargetSeconds?: number;
  readonly now?: () => number;
}

type RenditionFacts = InitFacts & { readonly frameRate?: number };

interface RecordedAsset {
  readonly name: string;
  readonly program: string;
  readonly dir: string;
  readonly playlists: Map<string, AssetPlaylist>;
  /** Live edges per rendition (low-latency channels). */
  readonly liveEdges: Map<string, LiveEdgeModel>;
  /** Latest facts per rendition (from the newest run that fed it). */
  readonly facts: Map<string, RenditionFacts>;
  /** Absolute path -> when it left the window. */
  readonly droppedAt: Map<string, number>;
  recording: boolean;
  /** The program's schedule (epoch ms): segments whose middle lies outside it are not recorded. */
  window: ScheduleWindow;
  windowSeconds: number;
  startedAt: string;
  stoppedAt?: string;
  /** The descriptor as last written or found on disk. */
  written?: AssetDescriptor;
}

export class ChannelRecorder {
  private readonly assets = new Map<string, RecordedAsset>();
  /** Assets this channel must not touch (another channel's or program's, or unreadable), with why. */
  private readonly refused = new Map<string, string>();
  private readonly runFacts = new Map<string, RenditionFacts>();
  private factsRun?: string;
  private readonly now: () => number;

  constructor(private readonly options: RecorderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Applies the channel's declared programs (at start and on every live config change). */
  setPrograms(programs: readonly ProgramManifest[]): void {
    const declared = new Set<string>();
    for (const program of programs) {
      declared.add(program.assetName);
      const asset = this.assets.get(program.assetName) ?? this.load(program);
      if (!asset) continue;
      const windowSeconds = this.windowOf(program);
      const narrower = windowSeconds < asset.windowSeconds;
      asset.windowSeconds = windowSeconds;
      asset.window = scheduleWindow(program);
      if (program.state === 'running') {
        this.start(asset);
        if (narrower) this.slide(asset);
      } else {
        this.stop(asset, `program ${program.name} is stopped`);
      }
    }
    for (const asset of this.assets.values()) {
      if (!declared.has(asset.name)) this.stop(asset, `program ${asset.program} is no longer declared on the channel`);
    }
  }

  /** Finalizes assets of this channel left `recording` by programs that are gone (found on disk at start). */
  stopOrphans(programs: readonly ProgramManifest[]): void {
    const declared = new Set(programs.map((p) => p.assetName));
    const root = path.join(this.options.storageDir, 'assets');
    for (const name of safeReaddir(root)) {
      if (declared.has(name) || this.assets.has(name)) continue;
      this.closeFromDisk(name, 'is no longer declared on the channel');
    }
  }

  /**
   * Closes an asset of this channel that its files say is still `recording` (EXT-X-ENDLIST, state
   * `stopped`); returns whether it did. For assets no running ingest writes any more.
   */
  closeFromDisk(name: string, why: string): boolean {
    const descriptor = this.readDescriptor(name);
    if (descriptor?.channel !== this.options.channel || descriptor.state !== 'recording') return false;
    const asset = this.assets.get(name) ?? this.load({ name: descriptor.program, assetName: name });
    if (!asset) return false;
    this.stop(asset, `program ${descriptor.program} ${why}`);
    return true;
  }

  /** Records one finished segment into every running program's asset. */
  record(event: SegmentEvent): void {
    const recording = [...this.assets.values()].filter((a) => a.recording && !outsideSchedule(event, a.window));
    if (recording.length === 0) return;
    // A segment cut short (a disk that filled under ffmpeg) would stop players that reach it: never listed.
    const incomplete = incompleteSegment(fs.readFileSync(event.segmentPath));
    if (incomplete) {
      this.options.log.error(`not recording ${event.rendition}/${path.basename(event.segmentPath)} of run ${event.run}: ${incomplete}`);
      return;
    }
    const facts = this.factsOf(event);
    for (const asset of recording) {
      try {
        this.recordInto(asset, event, facts);
      } catch (error) {
        this.options.log.error(`asset ${asset.name}: could not record ${event.rendition}/${path.basename(event.segmentPath)}: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Lists one part of a segment ffmpeg is still writing at the live edge of every running program's
   * asset (low-latency channels): the file is linked into the asset under its final name at once.
   */
  recordPart(event: PartEvent): void {
    const partTarget = this.options.partTargetSeconds;
    if (partTarget === undefined) return;
    const nominal = { programDateTimeMs: event.segmentProgramDateTimeMs, durationSeconds: this.options.segmentDurationSeconds };
    for (const asset of this.assets.values()) {
      if (!asset.recording || outsideSchedule(nominal, asset.window)) continue;
      try {
        this.recordPartInto(asset, event, partTarget);
      } catch (error) {
        this.options.log.error(`asset ${asset.name}: could not list part ${event.index} of ${event.rendition}/${path.basename(event.segmentPath)}: ${(error as Error).message}`);
      }
    }
  }

  /** What retention needs to know: each asset's referenced files and what left its window when. */
  knowledge(): AssetKnowledge[] {
    return [...this.assets.values()].map((asset) => {
      const referenced = new Set<string>();
      for (const [rendition, playlist] of asset.playlists) {
        for (const file of playlist.referencedFiles()) referenced.add(path.join(asset.dir, rendition, file));
      }
      // The segment being written is referenced by the live edge before the playlist lists it.
      for (const [rendition, edge] of asset.liveEdges) {
        if (edge.writingUri) referenced.add(path.join(asset.dir, rendition, edge.writingUri));
      }
      // Only folders of renditions this channel writes: others (an earlier ladder) are left alone.
      return { dir: asset.dir, referenced, droppedAt: asset.droppedAt, renditions: [...asset.playlists.keys()] };
    });
  }

  /** Names of assets currently recording. */
  get recordingAssets(): string[] {
    return [...this.assets.values()].filter((a) => a.recording).map((a) => a.name);
  }

  private windowOf(program: ProgramManifest): number {
    const cap = this.options.testOnlyWindowCapSeconds;
    return cap !== undefined ? Math.min(program.archiveWindowSeconds, cap) : program.archiveWindowSeconds;
  }

  private start(asset: RecordedAsset): void {
    if (asset.recording) return;
    asset.recording = true;
    // A new asset starts when its program starts recording, not when the workload first heard of it.
    if (asset.written === undefined) asset.startedAt = new Date(this.now()).toISOString();
    const resumed = asset.written?.state === 'stopped';
    for (const playlist of asset.playlists.values()) playlist.reopen();
    asset.stoppedAt = undefined;
    if (resumed) {
      this.writeAll(asset);
      this.options.log.info(`asset ${asset.name}: program ${asset.program} started again; recording continues after a discontinuity`);
    } else {
      this.options.log.info(`asset ${asset.name}: program ${asset.program} is recording`);
    }
  }

  private stop(asset: RecordedAsset, why: string): void {
    const wasRecording = asset.recording;
    asset.recording = false;
    if (!wasRecording && asset.written?.state !== 'recording') return;
    if (asset.written === undefined && [...asset.playlists.values()].every((p) => p.segments.length === 0)) return;
    for (const playlist of asset.playlists.values()) playlist.end();
    asset.stoppedAt = new Date(this.now()).toISOString();
    this.writeAll(asset);
    for (const [rendition, edge] of asset.liveEdges) {
      edge.clear();
      this.writeLiveEdge(asset, rendition, edge);
    }
    this.options.log.info(`asset ${asset.name}: stopped (${why}); it keeps all it recorded and is video on demand`);
  }

  private recordInto(asset: RecordedAsset, event: SegmentEvent, facts: RenditionFacts): void {
    const renditionDir = path.join(asset.dir, event.rendition);
    fs.mkdirSync(renditionDir, { recursive: true });
    const mapUri = `${event.run}-init.mp4`;
    const uri = `${event.run}-${path.basename(event.segmentPath)}`;
    linkInto(event.initPath, path.join(renditionDir, mapUri));
    linkInto(event.segmentPath, path.join(renditionDir, uri));
    const playlist = this.playlistOf(asset, event.rendition);
    const next = playlist.next(mapUri);
    playlist.append({ uri, mapUri, durationSeconds: event.durationSeconds, programDateTimeMs: event.programDateTimeMs, bytes: event.bytes });
    this.trim(asset, event.rendition, playlist);
    asset.facts.set(event.rendition, facts);
    writeFileAtomic(storagePaths.renditionPlaylist(this.options.storageDir, asset.name, event.rendition), playlist.render());
    this.writeDescriptor(asset);
    if (event.parts && this.options.partTargetSeconds !== undefined) {
      // After index.m3u8: the origin trusts the live edge for the segments it lists.
      const edge = this.liveEdgeOf(asset, event.rendition);
      edge.finish({ ...next, uri, mapUri, programDateTimeMs: event.programDateTimeMs }, event.durationSeconds, event.parts);
      this.writeLiveEdge(asset, event.rendition, edge);
    }
  }

  private recordPartInto(asset: RecordedAsset, event: PartEvent, partTarget: number): void {
    const renditionDir = path.join(asset.dir, event.rendition);
    fs.mkdirSync(renditionDir, { recursive: true });
    const mapUri = `${event.run}-init.mp4`;
    const uri = `${event.run}-${path.basename(event.segmentPath)}`;
    if (event.index === 0 || !fs.existsSync(path.join(renditionDir, uri))) {
      linkInto(event.initPath, path.join(renditionDir, mapUri));
      // The file being written, linked under the name it will have: the same inode, so it grows here too.
      linkFirstOf([event.writingPath, event.segmentPath], path.join(renditionDir, uri));
    }
    const identity: LiveSegmentIdentity = { ...this.playlistOf(asset, event.rendition).next(mapUri), uri, mapUri, programDateTimeMs: event.segmentProgramDateTimeMs };
    const edge = this.liveEdgeOf(asset, event.rendition);
    const part = { offset: event.offset, length: event.length, durationSeconds: event.durationSeconds, independent: event.independent };
    if (edge.addPart(identity, event.index, part)) this.writeLiveEdge(asset, event.rendition, edge, partTarget);
  }

  private playlistOf(asset: RecordedAsset, rendition: string): AssetPlaylist {
    let playlist = asset.playlists.get(rendition);
    if (!playlist) {
      playlist = new AssetPlaylist();
      asset.playlists.set(rendition, playlist);
    }
    return playlist;
  }

  private liveEdgeOf(asset: RecordedAsset, rendition: string): LiveEdgeModel {
    let edge = asset.liveEdges.get(rendition);
    if (!edge) {
      edge = new LiveEdgeModel();
      asset.liveEdges.set(rendition, edge);
    }
    return edge;
  }

  private writeLiveEdge(asset: RecordedAsset, rendition: string, edge: LiveEdgeModel, partTarget = this.options.partTargetSeconds): void {
    if (partTarget === undefined) return;
    writeFileAtomic(storagePaths.liveEdge(this.options.storageDir, asset.name, rendition), JSON.stringify(edge.toLiveEdge(partTarget)));
  }

  /** A running program's window got narrower: it applies now, not at the next segment. */
  private slide(asset: RecordedAsset): void {
    for (const [rendition, playlist] of asset.playlists) this.trim(asset, rendition, playlist);
    if (asset.playlists.size > 0) this.writeAll(asset);
  }

  private trim(asset: RecordedAsset, rendition: string, playlist: AssetPlaylist): void {
    const now = this.now();
    for (const file of playlist.trim(asset.windowSeconds)) asset.droppedAt.set(path.join(asset.dir, rendition, file), now);
  }

  private writeAll(asset: RecordedAsset): void {
    for (const [rendition, playlist] of asset.playlists) {
      writeFileAtomic(storagePaths.renditionPlaylist(this.options.storageDir, asset.name, rendition), playlist.render());
    }
    this.writeDescriptor(asset);
  }

  /** Writes asset.json once every rendition has a segment (the origin needs them all), then on every change. */
  private writeDescriptor(asset: RecordedAsset): void {
    const renditions: StoredRendition[] = [];
    for (const plan of this.options.renditions) {
      const playlist = asset.playlists.get(plan.name);
      const facts = asset.facts.get(plan.name) ?? factsFrom(asset.written, plan.name);
      if (!playlist || playlist.segments.length === 0 || !facts) continue;
      renditions.push(describe(plan.name, facts, playlist));
    }
    if (asset.written === undefined && renditions.length < this.options.renditions.length) return;
    if (renditions.length === 0) return;
    const now = new Date(this.now()).toISOString();
    const descriptor: AssetDescriptor = {
      version: 1,
      asset: asset.name,
      channel: this.options.channel,
      program: asset.program,
      state: asset.recording ? 'recording' : 'stopped',
      archiveWindowSeconds: asset.windowSeconds,
      segmentDurationSeconds: this.options.segmentDurationSeconds,
      container: 'fmp4',
      renditions,
      startedAt: asset.startedAt,
      ...(asset.recording || !asset.stoppedAt ? {} : { stoppedAt: asset.stoppedAt }),
      updatedAt: now,
      ...(this.options.partTargetSeconds !== undefined ? { lowLatency: { partTargetSeconds: this.options.partTargetSeconds } } : {}),
    };
    writeFileAtomic(storagePaths.assetDescriptor(this.options.storageDir, asset.name), `${JSON.stringify(descriptor, null, 2)}\n`);
    asset.written = descriptor;
  }

  /** Facts of a run's rendition, read once per run from its init section and first segment. */
  private factsOf(event: SegmentEvent): RenditionFacts {
    if (this.factsRun !== event.run) {
      this.runFacts.clear();
      this.factsRun = event.run;
    }
    const known = this.runFacts.get(event.rendition);
    if (known) return known;
    const init = initFacts(fs.readFileSync(event.initPath), path.relative(this.options.storageDir, event.initPath));
    let facts: RenditionFacts = init;
    if (init.type === 'video' && event.durationSeconds > 0) {
      const samples = fragmentSampleCount(fs.readFileSync(event.segmentPath));
      if (samples > 0) facts = { ...init, frameRate: Math.round((samples / event.durationSeconds) * 1000) / 1000 };
    }
    this.runFacts.set(event.rendition, facts);
    return facts;
  }

  /** The asset of a program, from disk when it exists; undefined (and logged) when this channel must not touch it. */
  private load(program: Pick<ProgramManifest, 'name' | 'assetName'>): RecordedAsset | undefined {
    const name = program.assetName;
    if (this.refused.has(name)) return undefined;
    const dir = storagePaths.assetDir(this.options.storageDir, name);
    const asset: RecordedAsset = {
      name,
      program: program.name,
      dir,
      playlists: new Map(),
      liveEdges: new Map(),
      facts: new Map(),
      droppedAt: new Map(),
      recording: false,
      window: {},
      windowSeconds: 0,
      startedAt: new Date(this.now()).toISOString(),
    };
    try {
      const descriptor = this.readDescriptor(name, true);
      if (descriptor && (descriptor.channel !== this.options.channel || descriptor.program !== program.name)) {
        return this.refuse(name, `it belongs to program ${descriptor.program} of channel ${descriptor.channel}`);
      }
      for (const plan of this.options.renditions) {
        const file = storagePaths.renditionPlaylist(this.options.storageDir, name, plan.name);
        const text = readIfExists(file);
        if (text === undefined) continue;
        const stored = parseMediaPlaylist(text, file);
        asset.playlists.set(plan.name, AssetPlaylist.fromStored(stored, (uri) => sizeOrZero(path.join(dir, plan.name, uri))));
      }
      if (descriptor) {
        asset.written = descriptor;
        asset.windowSeconds = descriptor.archiveWindowSeconds;
        asset.startedAt = descriptor.startedAt;
        asset.stoppedAt = descriptor.stoppedAt;
      }
    } catch (error) {
      return this.refuse(name, `its files cannot be read (${(error as Error).message})`);
    }
    this.assets.set(name, asset);
    return asset;
  }

  private refuse(name: string, why: string): undefined {
    this.refused.set(name, why);
    this.options.log.error(`asset ${name}: not recording into it: ${why}; nothing there was changed`);
    return undefined;
  }

  private readDescriptor(name: string, strict = false): AssetDescriptor | undefined {
    const file = storagePaths.assetDescriptor(this.options.storageDir, name);
    const text = readIfExists(file);
    if (text === undefined) return undefined;
    try {
      return parseJsonWith(assetDescriptor, text, file);
    } catch (error) {
      if (strict) throw error;
      return undefined;
    }
  }
}

function describe(name: string, facts: RenditionFacts, playlist: AssetPlaylist): StoredRendition {
  let peak = 0;
  let bits = 0;
  let seconds = 0;
  for (const segment of playlist.segments) {
    if (segment.durationSeconds <= 0) continue;
    peak = Math.max(peak, (segment.bytes * 8) / segment.durationSeconds);
    bits += segment.bytes * 8;
    seconds += segment.durationSeconds;
  }
  const measured = {
    bandwidth: Math.max(1, Math.ceil(peak)),
    ...(seconds > 0 ? { averageBandwidth: Math.max(1, Math.ceil(bits / seconds)) } : {}),
  };
  if (facts.type === 'video') {
    return {
      name, type: 'video', ...measured, codecs: facts.codecs, width: facts.width, height: facts.height,
      ...(facts.frameRate ? { frameRate: facts.frameRate } : {}),
    };
  }
  return { name, type: 'audio', ...measured, codecs: facts.codecs, sampleRate: facts.sampleRate, channels: facts.channels };
}

/** A program's schedule in epoch ms: `[notBeforeMs, notAfterMs)`, either side open. */
export interface ScheduleWindow {
  readonly notBeforeMs?: number;
  readonly notAfterMs?: number;
}

function scheduleWindow(program: Pick<ProgramManifest, 'start' | 'end'>): ScheduleWindow {
  return {
    ...(program.start !== undefined ? { notBeforeMs: Date.parse(program.start) } : {}),
    ...(program.end !== undefined ? { notAfterMs: Date.parse(program.end) } : {}),
  };
}

/**
 * Whether a segment lies mostly outside a program's schedule, by its program date time. Its middle
 * decides, so renditions whose segments differ by a few milliseconds (audio frames) all start and end
 * with the same segment.
 */
export function outsideSchedule(event: Pick<SegmentEvent, 'programDateTimeMs' | 'durationSeconds'>, window: ScheduleWindow): boolean {
  if (event.programDateTimeMs === undefined) return false;
  const middle = event.programDateTimeMs + (event.durationSeconds * 1000) / 2;
  return (window.notBeforeMs !== undefined && middle < window.notBeforeMs) || (window.notAfterMs !== undefined && middle >= window.notAfterMs);
}

/** Facts of a rendition as an earlier descriptor recorded them (an asset picked up from disk). */
function factsFrom(descriptor: AssetDescriptor | undefined, rendition: string): RenditionFacts | undefined {
  const r = descriptor?.renditions.find((x) => x.name === rendition);
  if (!r) return undefined;
  if (r.type === 'video') return { type: 'video', codecs: r.codecs, width: r.width ?? 0, height: r.height ?? 0, frameRate: r.frameRate };
  return { type: 'audio', codecs: r.codecs, sampleRate: r.sampleRate ?? 0, channels: r.channels ?? 0 };
}

/** Hard link (same bytes, no copy); a copy only where the asset lives on another file system. */
function linkInto(source: string, target: string): void {
  try {
    fs.linkSync(source, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'EXDEV') throw error;
    fs.copyFileSync(source, target, fs.constants.COPYFILE_EXCL);
  }
}

/** Links the first of `sources` that exists (the file being written may have been renamed meanwhile). */
function linkFirstOf(sources: readonly string[], target: string): void {
  for (const [index, source] of sources.entries()) {
    try {
      linkInto(source, target);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || index === sources.length - 1) throw error;
    }
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function sizeOrZero(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
