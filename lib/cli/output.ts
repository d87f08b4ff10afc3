/**
 * The CLI's stdout and stderr, kept harmless when their reader goes away: `npm start | tee log` whose
 * tee died first on Ctrl-C (EPIPE), a terminal closed under the command (EIO). Node turns such a write
 * error into an uncaught exception, which would kill `up` before it tore down or `apply` in the middle
 * of an action. Here the stream is marked closed instead, later writes to it are dropped, and
 * listeners (`up`: tear down) hear about it once.
 */

export type OutputStream = 'stdout' | 'stderr';

/** What a listener learns when a stream closed: which one, and the write error that said so. */
export interface OutputClosed {
  readonly stream: OutputStream;
  readonly code: string;
}

const closed = new Set<OutputStream>();
const listeners = new Set<(event: OutputClosed) => void>();
let installed = false;

/** Catch write errors on stdout and stderr from now on (idempotent; main() calls it first). */
export function guardOutput(): void {
  if (installed) return;
  installed = true;
  for (const stream of ['stdout', 'stderr'] as const) {
    process[stream].on('error', (error: NodeJS.ErrnoException) => markClosed(stream, error.code ?? error.message));
  }
}

/** Is the stream still worth writing to? */
export function outputOpen(stream: OutputStream): boolean {
  return !closed.has(stream) && !process[stream].destroyed;
}

/** Be told once per stream when its reader went away; returns the unsubscribe function. */
export function onOutputClosed(listener: (event: OutputClosed) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Write a line (a newline is added if missing) unless the stream is closed. */
export function writeLine(stream: OutputStream, text: string): void {
  if (!outputOpen(stream)) return;
  try {
    process[stream].write(text.endsWith('\n') ? text : `${text}\n`);
  } catch (error) {
    // Synchronous failures (a destroyed handle) mean the same as an 'error' event.
    markClosed(stream, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
}

function markClosed(stream: OutputStream, code: string): void {
  if (closed.has(stream)) return;
  closed.add(stream);
  for (const listener of [...listeners]) listener({ stream, code });
}
