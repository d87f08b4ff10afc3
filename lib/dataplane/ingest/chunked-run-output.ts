/**
 * Reads a low-latency transcoder run as ffmpeg writes it: in each rendition folder the DASH muxer
 * writes segment `n` into `seg-<n>.m4s.tmp`, one chunk (moof + mdat) at a time, and renames it to
 * `seg-<n>.m4s` once complete. Every chunk is handed on as a part the moment it is complete, every
 * segment once renamed, in order, exactly once. The folders are watched (inotify), so a part is seen
 * within a millisecond or two of being written; the caller's poll is the safety net.
 *
 * Parts are made here from chunks: a part is closed as soon as one more chunk like the last would take
 * it past the part target, so with ffmpeg's ~0.3-s chunks each chunk is a part, and shorter chunks (a
 * muxer cutting every frame) would be grouped without a part ever outlasting the target.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initTiming } from '../mp4/fragment-timing';
import { Logger } from '../common/log';
import { ChunkScanner } from '../mp4/cmaf-chunks';
import { handedOn, PartEvent, PartInfo, RunReader, SegmentEvent } from './run-output';
import { CHUNKED_RUN_FILES, RenditionPlan } from './transcode-args';

interface Cursor {
  readonly name: string;
  readonly dir: string;
  readonly syncByDefault: boolean;
  timescale?: number;
  /** Number of the segment being read (ffmpeg's `$Number$`, from 1). */
  number: number;
  fd?: number;
  scanner?: ChunkScanner;
  parts: PartInfo[];
  /** Media time (track ticks) of the start of the segment being read. */
  elapsedTicks: number;
  /** Media time (track ticks) read into the current segment. */
  segmentTicks: number;
  /** Chunks read but not yet handed on as a part: byte range and media time. */
  open?: { offset: number; end: number; ticks: number; independent: boolean };
  complained: boolean;
}

export class ChunkedRunOutput implements RunReader {
  private readonly cursors: Cursor[];
  private readonly watchers: fs.FSWatcher[] = [];
  /** Wall-clock time of the run's media time 0, fixed when its first part shows up. */
  private anchorMs?: number;

  constructor(
    readonly run: string,
    readonly dir: string,
    renditions: readonly RenditionPlan[],
    private readonly onSegment: (event: SegmentEvent) => void,
    private readonly onPart: (event: PartEvent) => void,
    private readonly log: Logger,
    private readonly partTargetSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.cursors = renditions.map((r) => ({
      name: r.name,
      dir: path.join(dir, r.name),
      syncByDefault: r.type === 'audio',
      number: 1,
      parts: [],
      elapsedTicks: 0,
      segmentTicks: 0,
      complained: false,
    }));
  }

  /** Creates the rendition folders (ffmpeg's DASH muxer does not) and watches them. */
  watch(): void {
    for (const cursor of this.cursors) {
      fs.mkdirSync(cursor.dir, { recursive: true });
      try {
        const watcher = fs.watch(cursor.dir, () => this.pollRendition(cursor));
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch (error) {
        this.log.error(`run ${this.run}: cannot watch ${cursor.name} (${(error as Error).message}); reading it on a timer only`);
      }
    }
  }

  /**
   * The run is over: reads what is left, then completes a segment ffmpeg could not finish (it was
   * killed), cut after its last complete chunk, so the parts already listed stay a real segment.
   */
  close(): void {
    for (const watcher of this.watchers.splice(0)) watcher.close();
    this.poll();
    for (const cursor of this.cursors) {
      if (cursor.fd !== undefined && (cursor.parts.length > 0 || cursor.open)) this.completeCutShort(cursor);
      this.closeFile(cursor);
    }
  }

  private completeCutShort(cursor: Cursor): void {
    const segmentPath = path.join(cursor.dir, CHUNKED_RUN_FILES.segmentTemplate.replace('$Number$', String(cursor.number)));
    const writingPath = segmentPath + CHUNKED_RUN_FILES.writingSuffix;
    try {
      fs.truncateSync(writingPath, cursor.scanner!.consumed);
      fs.renameSync(writingPath, segmentPath);
      this.log.info(`run ${this.run}: ${cursor.name}/${path.basename(segmentPath)} was cut short; kept its complete chunks as the run's last segment`);
      this.finishSegment(cursor, segmentPath, path.join(cursor.dir, CHUNKED_RUN_FILES.init));
    } catch (error) {
      this.log.error(`run ${this.run}: could not complete ${cursor.name}/${path.basename(segmentPath)}: ${(error as Error).message}`);
    }
  }

  poll(): number {
    let handed = 0;
    for (const cursor of this.cursors) handed += this.pollRendition(cursor);
    return handed;
  }

  isHandedOn(segmentPath: string): boolean {
    return handedOn(segmentPath, (rendition) => {
      const cursor = this.cursors.find((c) => c.name === rendition);
      return cursor && cursor.number - 1;
    });
  }

  private pollRendition(cursor: Cursor): number {
    try {
      return this.read(cursor);
    } catch (error) {
      if (!cursor.complained) this.log.error(`run ${this.run}: cannot read ${cursor.name}: ${(error as Error).message}`);
      cursor.complained = true;
      return 0;
    }
  }

  private read(cursor: Cursor): number {
    const initPath = path.join(cursor.dir, CHUNKED_RUN_FILES.init);
    if (cursor.timescale === undefined) {
      // ffmpeg writes the init section in place: until its track header is there, try again later.
      const init = readIfExists(initPath);
      const timescale = init && initTiming(init)?.timescale;
      if (!timescale) return 0;
      cursor.timescale = timescale;
    }
    let handed = 0;
    for (;;) {
      const segmentPath = path.join(cursor.dir, CHUNKED_RUN_FILES.segmentTemplate.replace('$Number$', String(cursor.number)));
      const writingPath = segmentPath + CHUNKED_RUN_FILES.writingSuffix;
      if (cursor.fd === undefined) {
        cursor.fd = openIfExists(writingPath) ?? openIfExists(segmentPath);
        if (cursor.fd === undefined) return handed;
        cursor.scanner = new ChunkScanner(cursor.syncByDefault);
      }
      // Whether it was complete is decided before reading: a rename seen now means every byte is there.
      const complete = fs.existsSync(segmentPath);
      this.handParts(cursor, segmentPath, writingPath, initPath);
      if (!complete) return handed;
      this.finishSegment(cursor, segmentPath, initPath);
      handed++;
    }
  }

  private handParts(cursor: Cursor, segmentPath: string, writingPath: string, initPath: string): void {
    const timescale = cursor.timescale!;
    for (const chunk of cursor.scanner!.scan(cursor.fd!)) {
      cursor.segmentTicks += chunk.duration;
      const open = cursor.open
        ? { ...cursor.open, end: chunk.offset + chunk.length, ticks: cursor.open.ticks + chunk.duration }
        : { offset: chunk.offset, end: chunk.offset + chunk.length, ticks: chunk.duration, independent: chunk.independent };
      cursor.open = open;
      if ((open.ticks + chunk.duration) / timescale > this.partTargetSeconds) this.handPart(cursor, segmentPath, writingPath, initPath);
    }
  }

  /** Hands on the chunks read so far as the segment's next part. */
  private handPart(cursor: Cursor, segmentPath: string, writingPath: string, initPath: string): void {
    const open = cursor.open;
    if (!open) return;
    cursor.open = undefined;
    const timescale = cursor.timescale!;
    const part: PartInfo = { offset: open.offset, length: open.end - open.offset, durationSeconds: open.ticks / timescale, independent: open.independent };
    this.anchorMs ??= this.now() - ((cursor.elapsedTicks + cursor.segmentTicks) / timescale) * 1000;
    cursor.parts.push(part);
    const event: PartEvent = {
      ...part,
      run: this.run,
      rendition: cursor.name,
      segmentPath,
      writingPath,
      initPath,
      index: cursor.parts.length - 1,
      segmentProgramDateTimeMs: Math.round(this.anchorMs + (cursor.elapsedTicks / timescale) * 1000),
    };
    try {
      this.onPart(event);
    } catch (error) {
      this.log.error(`run ${this.run}: listing part ${event.index} of ${cursor.name}/${path.basename(segmentPath)} failed: ${(error as Error).message}`);
    }
  }

  private finishSegment(cursor: Cursor, segmentPath: string, initPath: string): void {
    // The segment's last part: whatever was read since the one before (it may be short).
    this.handPart(cursor, segmentPath, segmentPath + CHUNKED_RUN_FILES.writingSuffix, initPath);
    const timescale = cursor.timescale!;
    const bytes = fs.fstatSync(cursor.fd!).size;
    const parts = cursor.parts;
    const durationSeconds = cursor.segmentTicks / timescale;
    this.anchorMs ??= this.now() - ((cursor.elapsedTicks + cursor.segmentTicks) / timescale) * 1000;
    const event: SegmentEvent = {
      run: this.run,
      rendition: cursor.name,
      segmentPath,
      initPath,
      durationSeconds,
      programDateTimeMs: Math.round(this.anchorMs + (cursor.elapsedTicks / timescale) * 1000),
      bytes,
      parts,
    };
    this.closeFile(cursor);
    cursor.open = undefined;
    cursor.elapsedTicks += cursor.segmentTicks;
    cursor.segmentTicks = 0;
    cursor.parts = [];
    cursor.number++;
    if (parts.length === 0) {
      this.log.error(`run ${this.run}: ${cursor.name}/${path.basename(segmentPath)} has no complete fragment; skipped`);
      return;
    }
    try {
      this.onSegment(event);
    } catch (error) {
      this.log.error(`run ${this.run}: recording ${cursor.name}/${path.basename(segmentPath)} failed: ${(error as Error).message}`);
    }
  }

  private closeFile(cursor: Cursor): void {
    if (cursor.fd !== undefined) fs.closeSync(cursor.fd);
    cursor.fd = undefined;
    cursor.scanner = undefined;
  }
}

function openIfExists(file: string): number | undefined {
  try {
    return fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
