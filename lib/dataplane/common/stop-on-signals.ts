/**
 * Resolves once SIGTERM, SIGINT or SIGHUP arrived and `stop` finished: workloads exit cleanly when
 * told to, also when one run by hand (`livestack dataplane origin`) loses its terminal.
 */
import { Logger } from './log';

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

export function stopOnSignals(log: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
      log.info(`received ${signal}, stopping`);
      stop().finally(() => resolve());
    };
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
  });
}
