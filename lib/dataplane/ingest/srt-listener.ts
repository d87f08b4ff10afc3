/**
 * The channel's SRT front door: livestack-srt-listener (native/srt-listener.c, libsrt) as a child of
 * the ingest workload. The helper refuses callers in libsrt's listen callback, before anything is
 * accepted — wrong stream id, an address outside the allow list, a channel that already has a
 * publisher — and libsrt refuses a wrong passphrase; this class starts it, gives it the passphrase on
 * stdin (never on its command line, which /proc shows to everyone), and turns its output into calls.
 *
 * ffmpeg 5.1's own SRT listener is no substitute: it checks a passphrase but no stream id, serves one
 * caller and then exits, and cannot refuse before accepting.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { srtListenerBinary, srtListenerBuildCommand } from '../../util/native-binaries';
import { ChildExit } from '../common/child-exit';
import { Logger } from '../common/log';
import { FrameDecoder, SrtEvent } from './srt-frames';

export class SrtListenerError extends Error {}

export type SrtOpen = Extract<SrtEvent, { event: 'open' }>;
export type SrtRefusal = Extract<SrtEvent, { event: 'refused' }>;
export type SrtStats = Extract<SrtEvent, { event: 'stats' }>;

export interface SrtListenerHandlers {
  /** A caller passed every check: it publishes until `closed`. */
  opened(session: SrtOpen): void;
  /** MPEG-TS of the open session, in order. */
  data(chunk: Buffer): void;
  closed(why: string, drainedPackets: number): void;
  refused(refusal: SrtRefusal): void;
  stats(stats: SrtStats): void;
  /** Refusals the helper could not queue (a flood); counted, not detailed. */
  unreported(count: number): void;
}

export interface SrtListenerOptions {
  readonly listenHost: string;
  readonly port: number;
  /** The channel name: what stream ids must name. */
  readonly resource: string;
  /** The channel's AES key length: 16, 24 or 32 bytes (AES-128, -192, -256); encoders set the same or none. */
  readonly keyLength: number;
  /** SRT receive latency in ms (the encoder may negotiate more). */
  readonly latencyMs: number;
  readonly allowList: readonly string[];
  /** The stream key. Written to the helper's stdin only. */
  readonly passphrase: string;
  readonly log: Logger;
  readonly handlers: SrtListenerHandlers;
  /** @default srtListenerBinary() */
  readonly binary?: string;
}

export class SrtListener {
  private child?: ChildProcess;
  private exit?: ChildExit;

  constructor(private readonly options: SrtListenerOptions) {}

  /** Starts the helper; resolves once it listens, rejects with its own words when it cannot. */
  async start(timeoutMs = 10_000): Promise<void> {
    const binary = this.options.binary ?? srtListenerBinary();
    if (!fs.existsSync(binary)) {
      throw new SrtListenerError(`the SRT listener ${binary} is missing: build it with ${srtListenerBuildCommand()} (needs gcc, pkg-config and Debian's libsrt-gnutls-dev; scripts/setup.sh installs them)`);
    }
    const o = this.options;
    const args = [
      '--listen', `${o.listenHost.includes(':') ? `[${o.listenHost}]` : o.listenHost}:${o.port}`,
      '--resource', o.resource,
      '--key-length', String(o.keyLength),
      '--latency', String(o.latencyMs),
      ...o.allowList.flatMap((block) => ['--allow', block]),
    ];
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    const stderr: string[] = [];
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      if (stderr.length < 20) stderr.push(line);
      o.log.info(`srt: ${line}`);
    });
    const exit = new ChildExit(child, 'the SRT listener', binary);
    this.exit = exit;
    // Its stdin stays open for commands; when this process dies, the helper reads the end and exits.
    child.stdin!.on('error', () => undefined);
    child.stdin!.write(`${o.passphrase}\n`);

    const ready = new Promise<void>((resolve, reject) => {
      const decoder = new FrameDecoder();
      child.stdout!.on('data', (chunk: Buffer) => {
        let frames;
        try {
          frames = decoder.push(chunk);
        } catch (error) {
          o.log.error(`SRT listener output is not its protocol (${(error as Error).message}); stopping it`);
          child.kill('SIGKILL');
          return;
        }
        for (const frame of frames) {
          if (frame.type === 'data') o.handlers.data(frame.payload);
          else if (frame.event.event === 'ready') resolve();
          else this.dispatch(frame.event);
        }
      });
      void exit.ended.then((why) => reject(new SrtListenerError(`${why}: ${stderr.join(' | ') || 'no message'}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new SrtListenerError(`the SRT listener did not listen on UDP port ${o.port} within ${timeoutMs} ms: ${stderr.join(' | ') || 'no message'}`)), timeoutMs);
    });
    try {
      await Promise.race([ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Another protocol's publisher holds the channel (or left it): the helper refuses SRT callers meanwhile. */
  setBusy(busy: boolean): void {
    this.command(busy ? 'busy 1' : 'busy 0');
  }

  /** Ends the open session (the gate refused it after all). */
  drop(): void {
    this.command('drop');
  }

  /** Resolves with why the helper ended, unless it was stopped on purpose (then never). */
  died(): Promise<string> {
    return this.exit?.died() ?? new Promise<string>(() => undefined);
  }

  /** Closing its stdin makes the helper close the session (the encoder is told) and exit; SIGKILL after `graceMs`. */
  async stop(graceMs = 2_000): Promise<void> {
    await this.exit?.stop((child) => child.stdin?.end(), graceMs);
  }

  private command(line: string): void {
    if (this.child?.stdin?.writable) this.child.stdin.write(`${line}\n`);
  }

  private dispatch(event: SrtEvent): void {
    const handlers = this.options.handlers;
    switch (event.event) {
      case 'open': handlers.opened(event); break;
      case 'closed': handlers.closed(event.why, event.drainedPackets); break;
      case 'refused': handlers.refused(event); break;
      case 'stats': handlers.stats(event); break;
      case 'refusals-unreported': handlers.unreported(event.count); break;
      case 'ready': break;
    }
  }
}
