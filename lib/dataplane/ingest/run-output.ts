/**
 * Reads one transcoder run's output as it grows: ffmpeg rewrites each rendition's playlist (atomically,
 * `temp_file`) after every finished segment; each segment that appears is handed on exactly once, in
 * order. What was handed on counts as recorded (retention may then remove the staging copy).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '../common/log';
import { parseMediaPlaylist, StoredPlaylist } from '../media-playlist';
import { fragmentTiming, initTiming } from '../mp4/fragment-timing';
import { RUN_FILES } from './transcode-args';

/** A finished segment in the channel area. */
export interface SegmentEvent {
  readonly run: string;
  readonly rendition: string;
  /** Absolute path of the segment and of its init section. */
  readonly segmentPath: string;
  readonly initPath: string;
  readonly durationSeconds: number;
  readonly programDateTimeMs?: number;
  readonly bytes: number;
  /** The segment's chunks (LL-HLS parts), when the transcoder writes chunked CMAF. */
  readonly parts?: readonly PartInfo[];
}

/** One chunk (moof + mdat) of a segment: an LL-HLS partial segment. */
export interface PartInfo {
  /** Byte range in the segment file. */
  readonly offset: number;
  readonly length: number;
  readonly durationSeconds: number;
  /** Starts with a key frame (EXT-X-PART INDEPENDENT=YES). */
  readonly independent: boolean;
}

/** A chunk of a segment still being written: what the recorder lists at the live edge. */
export interface PartEvent extends PartInfo {
  readonly run: string;
  readonly rendition: string;
  /** Path of the segment once complete, and of the file ffmpeg writes it into until then (same inode). */
  readonly segmentPath: string;
  readonly writingPath: string;
  readonly initPath: string;
  /** Position of the part in its segment, from 0. */
  readonly index: number;
  /** Wall-clock time of the segment's first sample. */
  readonly segmentProgramDateTimeMs: number;
}

/** What the transcoder needs of a run's output reader, whichever way ffmpeg writes it. */
export interface RunReader {
  /** Reads what changed and hands on new segments (and parts); returns how many segments. */
  poll(): number;
  /** Whether `segmentPath` (a file of this run) was handed on. */
  isHandedOn(segmentPath: string): boolean;
  /** Stops watching the run's folders (the run is over and was read to the end). */
  close(): void;
}

interface RenditionCursor {
  readonly name: string;
  /** Identity of the playlist version last read (mtime and size). */
  stamp?: string;
  /** Media sequence number of the last segment handed on. */
  lastSequence: number;
  /** Media time of the rendition's next segment: the sum of the durations handed on so far. */
  elapsedSeconds: number;
  complained: boolean;
}

export class RunOutput implements RunReader {
  private readonly cursors: RenditionCursor[];
  /**
   * Wall-clock time of the run's media time 0, fixed when its first segment shows up (that segment
   * ended about then). ffmpeg's own PROGRAM-DATE-TIME starts when its output opens, after probing the
   * input, which puts every segment seconds in the future.
   */
  private anchorMs?: number;
  private readonly timescales = new Map<string, number>();

  /**
   * @param dir the run folder (`channels/<channel>/runs/<run>`)
   * @param onSegment called synchronously for each new segment; an exception is logged, the segment still counts as handed on
   */
  constructor(
    readonly run: string,
    readonly dir: string,
    renditions: readonly string[],
    private readonly onSegment: (event: SegmentEvent) => void,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.cursors = renditions.map((name) => ({ name, lastSequence: -1, elapsedSeconds: 0, complained: false }));
  }

  /** Reads the playlists that changed and hands on the new segments; returns how many. */
  poll(): number {
    let handed = 0;
    for (const cursor of this.cursors) handed += this.pollRendition(cursor);
    return handed;
  }

  /** Whether `segmentPath` (a file of this run) was handed on. */
  isHandedOn(segmentPath: string): boolean {
    return handedOn(segmentPath, (rendition) => this.cursors.find((c) => c.name === rendition)?.lastSequence);
  }

  close(): void {
    // Nothing to release: this reader only polls.
  }

  /** Segments handed on so far, over all renditions. */
  get segmentCount(): number {
    return this.cursors.reduce((sum, c) => sum + c.lastSequence + 1, 0);
  }

  private pollRendition(cursor: RenditionCursor): number {
    const file = path.join(this.dir, cursor.name, RUN_FILES.playlist);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return 0;
    }
    const stamp = `${stat.mtimeMs}:${stat.size}`;
    if (stamp === cursor.stamp) return 0;
    const playlist = this.read(file, cursor);
    if (!playlist) return 0;
    cursor.stamp = stamp;
    let handed = 0;
    for (const segment of playlist.segments) {
      if (segment.sequence <= cursor.lastSequence) continue;
      const segmentPath = path.join(this.dir, cursor.name, segment.uri);
      const bytes = sizeOf(segmentPath);
      if (bytes === undefined || !segment.mapUri) {
        this.log.error(`run ${this.run}: ${cursor.name}/${segment.uri} is listed by ffmpeg but ${bytes === undefined ? 'missing' : 'has no init section'}; skipped`);
      } else {
        const initPath = path.join(this.dir, cursor.name, segment.mapUri);
        this.handOn({
          run: this.run,
          rendition: cursor.name,
          segmentPath,
          initPath,
          durationSeconds: segment.durationSeconds,
          programDateTimeMs: this.programDateTime(cursor, segmentPath, initPath, segment.durationSeconds),
          bytes,
        });
        handed++;
      }
      cursor.elapsedSeconds += segment.durationSeconds;
      cursor.lastSequence = segment.sequence;
    }
    return handed;
  }

  /**
   * Wall-clock time of a segment's first sample: the run's anchor (wall-clock time of media time 0,
   * fixed by the first segment seen) plus the fragment's decode time, floored to the millisecond.
   * DASH derives each run's Period start as program date time minus decode time (dash-render.ts), so
   * every segment must give back exactly the same anchor. Without a readable `tfdt`, the sum of the
   * durations so far stands in for the decode time.
   */
  private programDateTime(cursor: RenditionCursor, segmentPath: string, initPath: string, durationSeconds: number): number {
    const timing = this.decodeTime(segmentPath, initPath);
    const mediaMs = timing ? Math.floor((timing.decodeTime * 1000) / timing.timescale) : Math.round(cursor.elapsedSeconds * 1000);
    this.anchorMs ??= Math.round(this.now() - durationSeconds * 1000) - mediaMs;
    return this.anchorMs + mediaMs;
  }

  private decodeTime(segmentPath: string, initPath: string): { decodeTime: number; timescale: number } | undefined {
    try {
      let timescale = this.timescales.get(initPath);
      if (timescale === undefined) {
        timescale = initTiming(fs.readFileSync(initPath))?.timescale;
        if (timescale === undefined) return undefined;
        this.timescales.set(initPath, timescale);
      }
      const fragment = fragmentTiming(readHead(segmentPath, 64 * 1024));
      return fragment && { decodeTime: fragment.decodeTime, timescale };
    } catch {
      return undefined;
    }
  }

  private read(file: string, cursor: RenditionCursor): StoredPlaylist | undefined {
    try {
      const text = fs.readFileSync(file, 'utf8');
      // An empty file is a playlist being replaced by a non-atomic writer: read it next time.
      if (text === '') return undefined;
      return parseMediaPlaylist(text, file);
    } catch (error) {
      if (!cursor.complained) this.log.error(`run ${this.run}: cannot read ${file}: ${(error as Error).message}`);
      cursor.complained = true;
      return undefined;
    }
  }

  private handOn(event: SegmentEvent): void {
    try {
      this.onSegment(event);
    } catch (error) {
      this.log.error(`run ${this.run}: recording ${event.rendition}/${path.basename(event.segmentPath)} failed: ${(error as Error).message}`);
    }
  }
}

/**
 * Whether a segment file of a run (`<run>/<rendition>/seg-<n>.m4s`) was handed on, given the number of
 * the last segment handed on in each rendition.
 */
export function handedOn(segmentPath: string, lastHandedOn: (rendition: string) => number | undefined): boolean {
  const number = /^seg-(\d+)\.m4s$/.exec(path.basename(segmentPath))?.[1];
  const last = number === undefined ? undefined : lastHandedOn(path.basename(path.dirname(segmentPath)));
  return last !== undefined && Number(number) <= last;
}

function sizeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

function readHead(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, fs.readSync(fd, buffer, 0, bytes, 0));
  } finally {
    fs.closeSync(fd);
  }
}
