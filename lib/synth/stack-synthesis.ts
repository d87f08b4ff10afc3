/**
 * Per-stack synthesis of livestack: collects the stack's accounts, checks the whole desired state late
 * (after every add*() call), renders workload specs into Docker resources, and writes the manifest
 * beside cdk.tf.json. One instance per stack, created by the first MediaAccount in it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aspects, IAspect, TerraformStack } from 'cdktf';
import { addCustomSynthesis } from 'cdktf/lib/synthesize/synthesizer';
import { Construct, IConstruct } from 'constructs';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Image } from '@cdktf/provider-docker/lib/image';
import { checkManifest } from '../model/checks';
import { formatIssue, ValidationIssue } from '../model/errors';
import { Manifest, MANIFEST_API_VERSION, manifest as manifestSchema } from '../model/manifest';
import { zodIssues } from '../model/validate';
import { topology } from '../topology';
import { MANIFEST_FILE } from '../contract/manifest-file';
import { accountResources, workloadContainer } from './docker-resources';
import { withUnmappedStackTraces } from './unmapped-stacks';
import type { MediaAccount } from '../../constructs/media-account';


const SYNTHESIS_ID = 'Livestack';

export class LivestackStackSynthesis extends Construct {
  /** The stack's synthesis, created on first use. */
  static of(stack: TerraformStack): LivestackStackSynthesis {
    return (stack.node.tryFindChild(SYNTHESIS_ID) as LivestackStackSynthesis | undefined) ?? new LivestackStackSynthesis(stack);
  }

  private readonly accounts: MediaAccount[] = [];
  private rendered?: { manifest: Manifest; issues: ValidationIssue[] };

  private constructor(private readonly stack: TerraformStack) {
    super(stack, SYNTHESIS_ID);
    // Aspects run at synth time, after the app has declared everything, and before validation.
    Aspects.of(stack).add(new RenderOnce(this));
    this.node.addValidation({ validate: () => this.render().issues.map(formatIssue) });
    addCustomSynthesis(this, { onSynthesize: (session) => this.writeManifest(session.outdir) });
  }

  /** @internal */
  register(account: MediaAccount): void { this.accounts.push(account); }

  /** The stack's desired state, checked. Rendered once: later calls return the same result. */
  render(): { manifest: Manifest; issues: ValidationIssue[] } {
    if (this.rendered) return this.rendered;
    const manifest: Manifest = { apiVersion: MANIFEST_API_VERSION, accounts: this.accounts.map((a) => a.toManifest()) };
    const parsed = manifestSchema.safeParse(manifest);
    const issues = parsed.success ? checkManifest(manifest) : zodIssues(parsed.error, manifest, `${this.stack.node.path} (manifest)`);
    this.rendered = { manifest, issues };
    if (issues.length === 0) withUnmappedStackTraces(() => this.addDockerResources(manifest));
    return this.rendered;
  }

  private addDockerResources(manifest: Manifest): void {
    if (!this.stack.node.findAll().some((c) => c instanceof DockerProvider)) new DockerProvider(this, 'docker', {});
    const app = this.stack.node.root as unknown as { outdir?: string };
    const stackDir = path.resolve(app.outdir ?? 'cdktf.out', 'stacks', this.stack.node.id);
    const images = new Map<string, Image>();
    const specs = topology(manifest);
    for (const accountManifest of manifest.accounts) {
      const account = this.accounts.find((a) => a.accountName === accountManifest.name)!;
      const resources = accountResources(this, accountManifest, account.runtimeImage, stackDir, images);
      for (const spec of specs) if (spec.account === accountManifest.name) workloadContainer(this, spec, resources);
    }
  }

  private writeManifest(outdir: string): void {
    const { manifest } = this.render();
    const file = path.join(outdir, 'stacks', this.stack.node.id, MANIFEST_FILE);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  }
}

class RenderOnce implements IAspect {
  constructor(private readonly synthesis: LivestackStackSynthesis) {}

  visit(node: IConstruct): void {
    if (node === this.synthesis) this.synthesis.render();
  }
}
