/** Resolves once SIGTERM or SIGINT arrived and `stop` finished: workloads exit cleanly when told to. */
import { Logger } from './log';

export function stopOnSignals(log: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      log.info(`received ${signal}, stopping`);
      stop().finally(() => resolve());
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
