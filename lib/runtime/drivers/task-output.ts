/** What drivers share about one-off tasks (Driver.runTask): bounds and how a failure reads. */

/** How long a task may run when the caller sets no bound. */
export const DEFAULT_TASK_TIMEOUT_MS = 60_000;

/** A task that exited non-zero (or ran out of time): its name, exit and the end of what it wrote on stderr. */
export class TaskFailedError extends Error {
  constructor(readonly task: string, readonly exit: string, stderr: string) {
    const tail = stderr.trim().split('\n').slice(-5).join(' | ');
    super(`task ${task} ${exit}${tail ? `: ${tail}` : ''}`);
    this.name = 'TaskFailedError';
  }
}
