import * as path from 'node:path';
import { Command } from 'commander';
import { Access, accessRecords } from '../../runtime/access';
import { PassResult } from '../../runtime/controller';
import { LocalDriver } from '../../runtime/drivers/local';
import { errorMessage } from '../../runtime/errors';
import { acquireLock } from '../../runtime/lock';
import { accessLines } from '../access-text';
import { onOutputClosed, outputOpen, writeLine } from '../output';
import { deploymentAccess } from './deployment-access';
import { progressPrinter } from './progress';
import { RuntimeOptions, addRuntimeOptions, loadDesired, openController, out } from './runtime-options';

interface UpOptions extends RuntimeOptions {
  readonly wait: string;
}

/** `livestack up`: run the app on the local driver in the foreground; Ctrl-C tears it down. */
export function register(program: Command): void {
  addRuntimeOptions(
    program
      .command('up')
      .description('Run the app on this machine in the foreground: prints the ingest and playback URLs, repairs what breaks, tears everything down when stopped (Ctrl-C, SIGTERM, its terminal or output pipe closing).')
      .option('--wait <seconds>', 'how long to wait for every workload to be ready before printing the URLs', '90'),
    { driver: false },
  ).action(async (options: UpOptions) => {
    const desired = await loadDesired(options);
    const stateDir = path.resolve(options.stateDir);
    const driver = new LocalDriver({ stateDir, env: process.env });
    const lock = acquireLock(stateDir, `livestack up (${desired.source})`);
    const stop = new AbortController();
    let endedAt = 0;
    const endings = watchEndings((reason) => {
      if (stop.signal.aborted) {
        // npm forwards the Ctrl-C its whole job got anyway: only a later, second request is news.
        if (Date.now() - endedAt > REPEAT_QUIET_MS) say(`${reason}: still tearing down, please wait.`);
        return;
      }
      endedAt = Date.now();
      say(`\n${reason}: tearing down every workload...`);
      stop.abort();
    });
    const controller = openController(driver, options, { onAction: progressPrinter(out) });
    try {
      const adopted = (await driver.observe()).filter((w) => w.phase !== 'exited');
      if (adopted.length > 0) out(`Adopting ${adopted.length} workload${adopted.length === 1 ? '' : 's'} still running under ${stateDir} (left by an earlier run that did not tear down): ${adopted.map((w) => w.name).join(', ')}`);
      await controller.converge(desired, { signal: stop.signal });
      if (stop.signal.aborted) return;
      try {
        await controller.converge(desired, { signal: stop.signal, timeoutMs: Number(options.wait) * 1000, waitReady: true });
      } catch (error) {
        out(`Warning: ${errorMessage(error)}`);
        out('livestack keeps repairing them; the URLs below work once they are ready.');
      }
      if (stop.signal.aborted) return;
      out(banner(await deploymentAccess(driver, accessRecords(desired), { stateDir: options.stateDir }), stateDir));
      await controller.watch(() => desired, { signal: stop.signal, onPass: restartReporter(), onError: (error) => out(`Reconcile failed: ${errorMessage(error)}`) });
    } finally {
      await controller.destroy();
      lock.release();
      endings.dispose();
      say('Stopped: every workload is down.');
    }
  });
}

/**
 * Every way a foreground `up` is told to end while it can still act: Ctrl-C (SIGINT), `kill` (SIGTERM),
 * its terminal closing (SIGHUP), or the reader of its output going away (a pipe's EPIPE, a hung-up
 * terminal's EIO: noticed at the next line written). SIGKILL cannot be caught: the supervisors keep the
 * workloads running and the next `up`, `apply` or `destroy` on the state directory takes them over.
 */
function watchEndings(onEnd: (reason: string) => void): { dispose(): void } {
  const onSignal = (signal: NodeJS.Signals) => onEnd(`Received ${signal}`);
  for (const signal of ENDING_SIGNALS) process.on(signal, onSignal);
  const unsubscribe = onOutputClosed(({ stream, code }) => onEnd(`Its ${stream} closed (${code})`));
  for (const stream of ['stdout', 'stderr'] as const) if (!outputOpen(stream)) onEnd(`Its ${stream} closed`);
  return {
    dispose: () => {
      for (const signal of ENDING_SIGNALS) process.off(signal, onSignal);
      unsubscribe();
    },
  };
}

const ENDING_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const REPEAT_QUIET_MS = 1_000;

/** A line on stdout, or on stderr when stdout's reader is gone (`up | tee` without `2>&1`). */
function say(line: string): void {
  if (outputOpen('stdout')) out(line);
  else writeLine('stderr', line);
}

function banner(access: Access, stateDir: string): string {
  const lines = ['', `livestack is up (local driver, state in ${stateDir}). Press Ctrl-C to stop and tear everything down.`, ''];
  return `${[...lines, ...accessLines(access)].join('\n')}\n`;
}

/** A line when the supervisor restarted a workload behind the controller's back (its process died). */
function restartReporter(): (result: PassResult) => void {
  const seen = new Map<string, number>();
  return (result) => {
    for (const account of result.statuses) {
      for (const w of account.workloads) {
        const before = seen.get(w.name);
        if (before !== undefined && w.restarts > before) out(`Restarted ${w.role} ${w.name} (restart ${w.restarts}${w.detail ? `: ${w.detail}` : ''})`);
        seen.set(w.name, w.restarts);
      }
    }
  };
}
