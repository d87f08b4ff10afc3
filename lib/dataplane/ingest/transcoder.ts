/**
 * The channel's transcoder: ffmpeg reading the published stream and writing CMAF segments, one *run*
 * (one ffmpeg process, one folder `runs/<run>/`) at a time. A run reads an RTMP publisher by pulling
 * it from nginx-rtmp, and an SRT publisher's MPEG-TS from its stdin (`feed`). Runs start when a
 * publisher is accepted and end when its stream ends. A transcoder that dies while the publisher is
 * still connected is started again (a new run, counted in `restarts`), with backoff.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { LOW_LATENCY } from '../../model/latency';
import { Encoding, LatencyMode } from '../../model/manifest';
import { Logger } from '../common/log';
import { RunKnowledge, RunState } from './retention';
import { ChunkedRunOutput } from './chunked-run-output';
import { PartEvent, RunOutput, RunReader, SegmentEvent } from './run-output';
import { concatInputArgs, inputListing, renditionPlan, transcodeArgs } from './transcode-args';

export interface TranscoderOptions {
  /** `channels/<channel>/runs`. */
  readonly runsDir: string;
  readonly encoding: Encoding;
  readonly keyFrameIntervalSeconds: number;
  readonly segmentDurationSeconds: number;
  /** The internal RTMP stream URL, play token included, for `pull` input. Never logged, never on a command line (see inputListing). */
  readonly inputUrl: string;
  readonly log: Logger;
  readonly onSegment: (event: SegmentEvent) => void;
  /** Each chunk of a segment being written (low latency only). */
  readonly onPart?: (event: PartEvent) => void;
  /** @default 'standard' */
  readonly latency?: LatencyMode;
  /** @default 'ffmpeg' */
  readonly ffmpegPath?: string;
  /** How often run output is read. @default 250 */
  readonly pollMs?: number;
}

/**
 * How a run reads its publisher: `pull` from nginx-rtmp (inputUrl), or `pipe`: MPEG-TS written to its
 * stdin by `feed` (an SRT publisher).
 */
export type TranscoderInput = 'pull' | 'pipe';

/** Wait after a publish is accepted: nginx-rtmp starts the stream only once the callback answered. */
const START_DELAY_MS: Record<TranscoderInput, number> = { pull: 300, pipe: 0 };
/**
 * Piped input waiting for a run (while one starts or restarts), and queued in a run's stdin: enough for
 * seconds of a contribution feed, bounded so a stuck ffmpeg cannot make the workload grow.
 */
const MAX_PIPE_BACKLOG_BYTES = 16 * 1024 * 1024;
const BACKOFF = { initialMs: 500, maxMs: 10_000, resetAfterMs: 30_000 };
/** After the publisher left, ffmpeg normally ends at once (nginx drops it); these bound a stuck one. */
const END_GRACE_MS = 6_000;
const KILL_GRACE_MS = 3_000;
/** The input frame rate is measured over this much media time (several progress periods). */
const FRAME_RATE_WINDOW_US = 5_000_000;

interface Run {
  readonly id: string;
  readonly process: ChildProcess;
  readonly output: RunReader;
  readonly startedAt: number;
  readonly exited: Promise<void>;
  /** The publish session it transcodes (see Transcoder.session). */
  readonly session: number;
  readonly input: TranscoderInput;
  /** ffmpeg reported progress: it had opened its input and was transcoding. */
  up: boolean;
}

export class Transcoder {
  private wanted = false;
  private input: TranscoderInput = 'pull';
  /** Piped input that arrived while no run of the current session could take it. */
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  private droppedBytes = 0;
  /** Why runs must not start now (storage nearly full); the publisher may stay connected meanwhile. */
  private heldFor?: string;
  /** Counts accepted publishers: a run still ending for the previous one is not a failure of the next. */
  private session = 0;
  private current?: Run;
  private startTimer?: NodeJS.Timeout;
  private endTimer?: NodeJS.Timeout;
  private consecutiveFailures = 0;
  private readonly runStates = new Map<string, 'active' | 'finished'>();
  private readonly outputs = new Map<string, RunReader>();
  private restartCount = 0;
  private frameRate?: number;
  private readonly renditions: string[];

  /** The ffconcat file naming the input URL, in a folder only this user can enter. */
  private readonly inputFile: string;

  constructor(private readonly options: TranscoderOptions) {
    this.renditions = renditionPlan(options.encoding).map((r) => r.name);
    const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-transcoder-'));
    this.inputFile = path.join(privateDir, 'input.ffconcat');
    fs.writeFileSync(this.inputFile, inputListing(options.inputUrl), { mode: 0o600 });
    process.once('exit', () => fs.rmSync(privateDir, { recursive: true, force: true }));
  }

  /** Times ffmpeg was started again after it died while the publisher was connected. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Frames per second of media the encoder sends, measured over the last few seconds of media ffmpeg read. */
  get inputFrameRate(): number | undefined {
    return this.current?.up ? this.frameRate : undefined;
  }

  /** A publisher was accepted: transcode its stream (once the previous run, if any, is over). */
  publisherArrived(input: TranscoderInput = 'pull'): void {
    this.wanted = true;
    this.input = input;
    this.session++;
    this.consecutiveFailures = 0;
    this.clearBacklog();
    // A run still ending for the previous publisher keeps its grace timer; the next run starts when it is over.
    if (!this.current && !this.heldFor) this.scheduleStart(START_DELAY_MS[input]);
  }

  /**
   * Stop writing segments until `release()`: the current run ends cleanly (ffmpeg finishes its segment
   * and playlists), and none starts, whether the publisher stays or comes back.
   */
  async hold(why: string): Promise<void> {
    this.heldFor = why;
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.current) await this.end(this.current, why);
  }

  /** Writing may go on: a run starts at once if a publisher is connected (a new run: a discontinuity). */
  release(): void {
    if (!this.heldFor) return;
    this.heldFor = undefined;
    this.consecutiveFailures = 0;
    if (this.wanted && !this.current) this.scheduleStart(0);
  }

  /**
   * Stream data of a `pipe` publisher, in order: into the current run's stdin, or kept (bounded) for the
   * run about to start. What does not fit is dropped and counted in the log.
   */
  feed(chunk: Buffer): void {
    if (!this.wanted || this.input !== 'pipe') return;
    const run = this.current;
    const stdin = run?.session === this.session ? run.process.stdin : undefined;
    if (stdin && !stdin.writableEnded) {
      if (stdin.writableLength + chunk.length > MAX_PIPE_BACKLOG_BYTES) this.drop(run!, chunk.length);
      else stdin.write(chunk);
      return;
    }
    if (this.backlogBytes + chunk.length > MAX_PIPE_BACKLOG_BYTES) {
      this.droppedBytes += chunk.length;
      return;
    }
    this.backlog.push(chunk);
    this.backlogBytes += chunk.length;
  }

  /**
   * The publisher left: the run ends by itself when nginx drops ffmpeg or, piped, at the end of its
   * input; a stuck ffmpeg is stopped.
   */
  publisherLeft(): void {
    this.wanted = false;
    this.clearBacklog();
    if (this.startTimer) clearTimeout(this.startTimer);
    const run = this.current;
    if (!run) return;
    if (run.input === 'pipe') run.process.stdin?.end();
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = setTimeout(() => {
      if (this.current === run) void this.end(run, 'it did not end within the grace period after the publisher left');
    }, END_GRACE_MS);
  }

  /** Stops transcoding for good (workload shutdown): the current run is ended and read to the end. */
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.endTimer) clearTimeout(this.endTimer);
    if (this.current) await this.end(this.current, 'the workload is stopping');
  }

  /** Retention's view of the runs: runs of this process are known; others were left by an earlier one. */
  knowledge(): RunKnowledge {
    return {
      runState: (run: string): RunState => this.runStates.get(run) ?? 'abandoned',
      isRecorded: (segmentPath: string) => {
        const run = path.basename(path.dirname(path.dirname(segmentPath)));
        return this.outputs.get(run)?.isHandedOn(segmentPath) ?? false;
      },
    };
  }

  private scheduleStart(delayMs: number): void {
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = setTimeout(() => {
      this.startTimer = undefined;
      if (this.wanted && !this.current && !this.heldFor) this.startRun();
    }, delayMs);
  }

  private startRun(): void {
    const id = newRunId();
    const dir = path.join(this.options.runsDir, id);
    fs.mkdirSync(dir, { recursive: true });
    const input = this.input;
    const args = transcodeArgs({
      ...(input === 'pull'
        ? { input: this.inputFile, inputArgs: concatInputArgs(this.options.encoding) }
        : { input: 'pipe:0', inputFormat: 'mpegts' as const }),
      encoding: this.options.encoding,
      keyFrameIntervalSeconds: this.options.keyFrameIntervalSeconds,
      segmentDurationSeconds: this.options.segmentDurationSeconds,
      outputDir: dir,
      progress: true,
      latency: this.options.latency,
    });
    const child = spawn(this.options.ffmpegPath ?? 'ffmpeg', args, { stdio: [input === 'pipe' ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    // A run that ends while data still arrives must not take the workload down with EPIPE.
    child.stdin?.on('error', () => undefined);
    const output = this.readerFor(id, dir);
    const exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        this.options.log.error(`transcoder run ${id}: could not start ffmpeg: ${error.message}`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        this.options.log.info(`transcoder run ${id} ended (${signal ? `signal ${signal}` : `exit code ${code}`})`);
        resolve();
      });
    });
    const run: Run = { id, process: child, output, startedAt: Date.now(), exited, session: this.session, input, up: false };
    this.current = run;
    this.runStates.set(id, 'active');
    this.outputs.set(id, output);
    this.frameRate = undefined;
    this.watchProgress(run);
    this.forwardLog(run);
    const poller = setInterval(() => output.poll(), this.options.pollMs ?? 250);
    this.options.log.info(`transcoder run ${id} started (pid ${child.pid ?? '-'}, ${input === 'pipe' ? 'MPEG-TS from the SRT publisher' : 'pulling from nginx-rtmp'}: ${this.renditions.join(', ')})`);
    if (input === 'pipe') this.flushBacklog(run);
    void exited.then(() => {
      clearInterval(poller);
      this.finish(run);
      output.close();
    });
  }

  private flushBacklog(run: Run): void {
    if (this.droppedBytes > 0) this.options.log.error(`dropped ${this.droppedBytes} bytes of the SRT publisher's stream while no transcoder run could take them`);
    this.droppedBytes = 0;
    for (const chunk of this.backlog) run.process.stdin?.write(chunk);
    this.clearBacklog();
  }

  private clearBacklog(): void {
    this.backlog = [];
    this.backlogBytes = 0;
  }

  private drop(run: Run, bytes: number): void {
    if (this.droppedBytes === 0) this.options.log.error(`transcoder run ${run.id} does not keep up with the SRT publisher: dropping input`);
    this.droppedBytes += bytes;
  }

  /** The reader of a run's output: ffmpeg's playlists (standard), or the chunks as they are written (low latency). */
  private readerFor(id: string, dir: string): RunReader {
    const { options } = this;
    if (options.latency !== 'low') return new RunOutput(id, dir, this.renditions, options.onSegment, options.log);
    const reader = new ChunkedRunOutput(id, dir, renditionPlan(options.encoding), options.onSegment, options.onPart ?? (() => undefined), options.log, LOW_LATENCY.partTargetSeconds);
    reader.watch();
    return reader;
  }

  /** The run's process is gone: read its last output, then start again if the publisher is still there. */
  private finish(run: Run): void {
    run.output.poll();
    this.runStates.set(run.id, 'finished');
    this.forgetOldRuns();
    if (this.current !== run) return;
    this.current = undefined;
    if (this.endTimer) clearTimeout(this.endTimer);
    if (!this.wanted || this.heldFor) return;
    if (run.session !== this.session) {
      // The previous publisher's run ended; the new publisher's starts now.
      this.scheduleStart(START_DELAY_MS[this.input]);
      return;
    }
    const lasted = Date.now() - run.startedAt;
    if (lasted >= BACKOFF.resetAfterMs) this.consecutiveFailures = 0;
    const delay = Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** this.consecutiveFailures);
    this.consecutiveFailures++;
    // A run that never got going (the stream was not up yet) is a failed start, not a restart.
    if (run.up) this.restartCount++;
    this.options.log.error(`transcoder run ${run.id} stopped while the publisher is connected; starting again in ${delay} ms${run.up ? ` (restart ${this.restartCount})` : ''}`);
    this.scheduleStart(delay);
  }

  private async end(run: Run, why: string): Promise<void> {
    this.options.log.info(`stopping transcoder run ${run.id}: ${why}`);
    // One SIGINT: ffmpeg finishes its segment and playlists. A second one would abort its writes.
    run.process.kill('SIGINT');
    const killer = setTimeout(() => run.process.kill('SIGKILL'), KILL_GRACE_MS);
    await run.exited;
    clearTimeout(killer);
  }

  private watchProgress(run: Run): void {
    if (!run.process.stdout) return;
    let frame: number | undefined;
    let mediaMicros: number | undefined;
    // Frames per second of media time, not of wall time: ffmpeg buffers while it probes its input (longer
    // on a busy host) and then reads the backlog at several times real time, so frames per wall-clock
    // second showed 45-63 fps for a 25-fps encoder. Frames over the media time they cover is the rate the
    // encoder sends, whatever the transcoder's pace; a few seconds of it smooth out one late packet.
    const samples: { frame: number; micros: number }[] = [];
    readline.createInterface({ input: run.process.stdout }).on('line', (line) => {
      const [key, value] = line.split('=', 2);
      if (key === 'frame') frame = Number(value);
      if (key === 'out_time_us') mediaMicros = Number(value);
      if (key !== 'progress' || frame === undefined || !Number.isFinite(frame)) return;
      run.up = true;
      if (mediaMicros === undefined || !Number.isFinite(mediaMicros) || mediaMicros <= 0) return;
      samples.push({ frame, micros: mediaMicros });
      while (samples.length > 2 && mediaMicros - samples[1].micros >= FRAME_RATE_WINDOW_US) samples.shift();
      const oldest = samples[0];
      const span = mediaMicros - oldest.micros;
      if (span > 0 && frame >= oldest.frame) this.frameRate = Math.round(((frame - oldest.frame) * 1e6 / span) * 100) / 100;
    });
  }

  private forwardLog(run: Run): void {
    if (!run.process.stderr) return;
    // ffmpeg names its input in errors; the play token stays out of the log.
    const input = this.options.inputUrl;
    const shown = input.replace(/\?.*$/, '?token=<redacted>');
    readline.createInterface({ input: run.process.stderr }).on('line', (line) => {
      if (line.trim() === '') return;
      this.options.log.info(`ffmpeg ${run.id}: ${line.split(input).join(shown)}`);
      const missing = /Stream map '0:([av]):0' matches no streams/.exec(line)?.[1];
      if (missing) {
        this.options.log.error(`the publisher sends no ${missing === 'a' ? 'audio' : 'video'} track: a channel needs H.264 video and AAC audio (check the encoder's output settings)`);
      }
    });
  }

  /** Keeps run bookkeeping small: only recent runs can still have files in the channel area. */
  private forgetOldRuns(): void {
    const finished = [...this.runStates].filter(([, state]) => state === 'finished').map(([id]) => id);
    for (const id of finished.slice(0, Math.max(0, finished.length - 50))) {
      this.runStates.delete(id);
      this.outputs.delete(id);
    }
  }
}

/** Sortable, unique run ids, usable as file name prefixes: `20261124T051600123Z-3fa2`. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(2).toString('hex')}`;
}
