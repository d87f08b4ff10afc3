import * as path from 'node:path';
import { Command } from 'commander';
import { synthesizeApp } from '../../app/run-app';
import { topology } from '../../topology';

/** `livestack synth`: what `cdktf synth` does, plus a summary of the workloads each stack declares. */
export function register(program: Command): void {
  program
    .command('synth')
    .description('Synthesize a livestack app: cdk.tf.json (Docker resources) and livestack.manifest.json per stack.')
    .requiredOption('--app <file>', 'the cdktf app, e.g. examples/basic/main.ts')
    .option('--out <dir>', 'output directory', 'cdktf.out')
    .action(async (options: { app: string; out: string }) => {
      const started = Date.now();
      const result = await synthesizeApp(options.app, options.out);
      const specs = topology(result.manifest);
      const relative = path.relative(process.cwd(), result.outdir);
      const rel = relative.startsWith('..') ? result.outdir : relative || '.';
      process.stdout.write(`Synthesized ${options.app} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
      for (const stack of result.stacks) {
        process.stdout.write(`  ${rel}/stacks/${stack}/cdk.tf.json\n  ${rel}/stacks/${stack}/livestack.manifest.json\n`);
      }
      process.stdout.write(`${specs.length} workloads: ${specs.map((s) => s.name).join(', ')}\n`);
    });
}
