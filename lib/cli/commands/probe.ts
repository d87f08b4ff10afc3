import { Command } from 'commander';

/** Container health check: exit 0 when the URL answers 2xx within the timeout, 1 otherwise. */
export function register(program: Command): void {
  program
    .command('probe')
    .description('Health probe used by container health checks: GET a URL, exit 0 on 2xx.')
    .argument('<url>', 'URL to GET, e.g. http://127.0.0.1:8080/healthz')
    .option('--timeout <ms>', 'give up after this many milliseconds', '2000')
    .action(async (url: string, options: { timeout: string }) => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(Number(options.timeout)) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
      } catch (error) {
        process.stderr.write(`probe ${url}: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
