/**
 * Line logger of the data-plane workloads: `<time> <workload> <message>` on stderr, which the local
 * driver and Docker both collect. Callers pass only what is safe to print: never keys, tokens or secrets.
 */
export interface Logger {
  info(message: string): void;
  error(message: string): void;
}

export function createLogger(workloadName: string, stream: NodeJS.WritableStream = process.stderr): Logger {
  const write = (level: string, message: string) => stream.write(`${new Date().toISOString()} ${workloadName} ${level} ${message}\n`);
  return {
    info: (message) => write('info', message),
    error: (message) => write('error', message),
  };
}
