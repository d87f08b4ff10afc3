/**
 * Error kinds of the runtime. A terminal error (a missing secret variable, an invalid manifest) cannot
 * be fixed by retrying, so the controller records it and waits for the desired state to change; every
 * other error is transient and requeued with backoff.
 */

/** An error that retrying will not fix. `subject` names what it is about (a workload, a file). */
export class TerminalError extends Error {
  readonly terminal = true;

  constructor(readonly subject: string, message: string) {
    super(`${subject}: ${message}`);
    this.name = 'TerminalError';
  }
}

export function isTerminal(error: unknown): error is TerminalError {
  return typeof error === 'object' && error !== null && (error as { terminal?: unknown }).terminal === true;
}

/** The message of any thrown value, for status and logs. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
