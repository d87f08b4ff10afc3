import * as path from 'node:path';
import { Command } from 'commander';
import { TerminalError } from '../../runtime/errors';
import { synthesizeApp } from '../../app/run-app';
import { topology } from '../../topology';
import { kubernetesYaml, writeKubernetesYaml } from '../../synth/kubernetes-yaml';

/** `livestack synth`: what `cdktf synth` does, plus a summary of the workloads each stack declares. */
export function register(program: Command): void {
  program
    .command('synth')
    .description('Synthesize a livestack app: cdk.tf.json (Docker or Kubernetes resources) and livestack.manifest.json per stack; with --kubernetes-out, plain YAML too.')
    .requiredOption('--app <file>', 'the cdktf app, e.g. examples/basic/main.ts')
    .option('--out <dir>', 'output directory', 'cdktf.out')
    .option('--kubernetes-out <dir>', 'also write the Kubernetes objects of the app\'s Kubernetes accounts as YAML (one file per object) for Argo CD or Flux')
    .action(async (options: { app: string; out: string; kubernetesOut?: string }) => {
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
      if (options.kubernetesOut) writeYaml(options.kubernetesOut, result.manifest, options.app);
    });
}

function writeYaml(dir: string, manifest: Parameters<typeof kubernetesYaml>[0], app: string): void {
  const yaml = kubernetesYaml(manifest);
  if (yaml.objects.length === 0) throw new TerminalError(app, 'no account of this app runs on Kubernetes: give one `platform: Platform.kubernetes({...})` to write Kubernetes YAML');
  writeKubernetesYaml(dir, yaml);
  process.stdout.write(`Wrote ${yaml.files.size} Kubernetes objects to ${dir} (one file each, in apply order)\n`);
  for (const secret of yaml.secrets) {
    // The repository must never hold a secret: say which Secret to create and how, without any value.
    process.stdout.write(`  create the Secret ${secret.namespace}/${secret.name} outside the repository (keys: ${secret.keys.join(', ')}), e.g.\n`);
    process.stdout.write(`    kubectl -n ${secret.namespace} create secret generic ${secret.name} ${secret.keys.map((k) => `--from-literal=${k}="$TF_VAR_${k}"`).join(' ')}\n`);
  }
}
