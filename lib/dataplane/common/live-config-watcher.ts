/**
 * Watches a workload's control file (`<storage>/control/<workload>.json`), which the runtime replaces
 * atomically, and hands each new valid config to `apply`. A malformed file is reported and ignored:
 * the workload keeps serving its last good config.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { Logger } from './log';
import { parseJsonWith } from './workload-env';

/** Polling backs up inotify, which shared or network volumes may not deliver. */
const POLL_MS = 2000;
const DEBOUNCE_MS = 30;

export class LiveConfigWatcher<S extends z.ZodType> {
  private watcher?: fs.FSWatcher;
  private poller?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private lastText?: string;

  constructor(
    private readonly file: string,
    private readonly schema: S,
    private readonly apply: (config: z.infer<S>) => void,
    private readonly log: Logger,
  ) {}

  /** @param bootText the config the workload booted with, so an identical control file is not re-applied */
  start(bootText?: string): void {
    this.lastText = bootText;
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true });
    try {
      this.watcher = fs.watch(dir, (_event, name) => {
        if (name === null || name === path.basename(this.file)) this.schedule();
      });
      this.watcher.on('error', (error) => this.log.error(`control file watch on ${dir} failed: ${error.message}; polling only`));
    } catch (error) {
      this.log.error(`cannot watch ${dir}: ${(error as Error).message}; polling only`);
    }
    this.poller = setInterval(() => this.check(), POLL_MS);
    this.poller.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    if (this.debounce) clearTimeout(this.debounce);
  }

  private schedule(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), DEBOUNCE_MS);
  }

  private check(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error(`cannot read control file ${this.file}: ${(error as Error).message}`);
      return;
    }
    if (text === this.lastText) return;
    this.lastText = text;
    let config: z.infer<S>;
    try {
      config = parseJsonWith(this.schema, text, this.file);
    } catch (error) {
      this.log.error(`${(error as Error).message}; kept the previous live config`);
      return;
    }
    this.apply(config);
  }
}
