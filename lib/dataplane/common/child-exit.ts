/**
 * The end of a process a workload runs beside itself (nginx, the SRT listener): why it ended, in words
 * for the log, and a stop that asks it to finish, then kills it after a grace period. An end the
 * workload asked for is not a death: `died()` resolves only for the others, so the workload stops (and
 * its supervisor starts it again) only when its helper failed.
 */
import { ChildProcess } from 'node:child_process';

export class ChildExit {
  /** Why the process ended, whoever ended it. */
  readonly ended: Promise<string>;
  private stopping = false;

  /** `what` names the process in messages, e.g. `nginx`; `binary` is what was started. */
  constructor(private readonly child: ChildProcess, what: string, binary: string) {
    this.ended = new Promise((resolve) => {
      child.once('error', (error) => resolve(`could not start ${binary}: ${error.message}`));
      child.once('exit', (code, signal) => resolve(signal ? `${what} was killed by ${signal}` : `${what} exited with code ${code}`));
    });
  }

  /** Resolves with why the process ended, unless it was stopped on purpose (then never). */
  died(): Promise<string> {
    return new Promise((resolve) => {
      void this.ended.then((why) => {
        if (!this.stopping) resolve(why);
      });
    });
  }

  /** `ask` asks the process to finish (a signal, the end of its input); SIGKILL after `graceMs`. */
  async stop(ask: (child: ChildProcess) => void, graceMs: number): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    ask(child);
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.ended;
    clearTimeout(killer);
  }
}
