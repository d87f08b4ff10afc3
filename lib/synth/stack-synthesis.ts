/**
 * Per-stack synthesis of livestack: finds the stack's accounts (node.findAll: no construct registers
 * itself), checks the whole desired state once, late (after every add*() call: schema and every rule;
 * each account reports the issues about it), renders workload specs into Docker or Kubernetes resources
 * (by each account's platform), and writes the manifest beside cdk.tf.json. One instance per stack,
 * created by the first MediaAccount in it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aspects, IAspect, TerraformStack } from 'cdktf';
import { addCustomSynthesis } from 'cdktf/lib/synthesize/synthesizer';
import { Construct, IConstruct } from 'constructs';
import { isAccountSource } from '../model/account-source';
import { formatIssue, ValidationIssue } from '../model/errors';
import { validateManifest } from '../model/load-manifest';
import { Manifest, MANIFEST_API_VERSION } from '../model/manifest';
import { MANIFEST_FILE } from '../contract/manifest-file';
import { topology } from '../topology';
import { accessOutputs } from './access-outputs';
import { dockerStackResources } from './docker-resources';
import { kubernetesStackResources } from './kubernetes-resources';
import { swarmStackResources } from './swarm-resources';
import { withUnmappedStackTraces } from './unmapped-stacks';

const SYNTHESIS_ID = 'Livestack';

export class LivestackStackSynthesis extends Construct {
  /** The stack's synthesis, created on first use. */
  static of(stack: TerraformStack): LivestackStackSynthesis {
    return (stack.node.tryFindChild(SYNTHESIS_ID) as LivestackStackSynthesis | undefined) ?? new LivestackStackSynthesis(stack);
  }

  private rendered?: { manifest: Manifest; issues: ValidationIssue[] };

  private constructor(private readonly stack: TerraformStack) {
    super(stack, SYNTHESIS_ID);
    // Aspects run at synth time, after the app has declared everything, and before validation.
    Aspects.of(stack).add(new RenderOnce(this));
    this.node.addValidation({ validate: () => this.render().issues.filter((issue) => !this.ownedByAccount(issue)).map(formatIssue) });
    addCustomSynthesis(this, { onSynthesize: (session) => this.writeManifest(session.outdir) });
  }

  /**
   * The stack's desired state and every issue with it (schema and all rules). Rendered once: later
   * calls return the same result. Docker and Kubernetes resources are added only when there is no issue.
   */
  render(): { manifest: Manifest; issues: ValidationIssue[] } {
    if (this.rendered) return this.rendered;
    const accounts = this.stack.node.findAll().filter(isAccountSource).map((a) => a.toManifest());
    const manifest: Manifest = { apiVersion: MANIFEST_API_VERSION, accounts };
    const { issues } = validateManifest(manifest, `${this.stack.node.path} (manifest)`);
    this.rendered = { manifest, issues };
    if (issues.length === 0) withUnmappedStackTraces(() => this.addResources(manifest));
    return this.rendered;
  }

  /** Docker resources for the accounts on Docker, Swarm services for those on Swarm, Kubernetes resources for those on Kubernetes. */
  private addResources(manifest: Manifest): void {
    const specs = topology(manifest);
    const on = (kind: string) => (a: Manifest['accounts'][number]) => (a.platform?.kind ?? 'docker') === kind;
    const docker = manifest.accounts.filter(on('docker'));
    if (docker.length > 0) dockerStackResources(this, { ...manifest, accounts: docker }, specs, this.stackDir());
    swarmStackResources(this, manifest.accounts.filter(on('swarm')), specs);
    kubernetesStackResources(this, manifest.accounts.filter(on('kubernetes')), specs);
    // cdktf's default output folder, not this synthesis's: cdk.tf.json must not depend on where it was synthesized.
    accessOutputs(this, manifest, specs, { manifestFile: `cdktf.out/stacks/${this.stack.node.id}/${MANIFEST_FILE}` });
  }

  /** Where Terraform runs for this stack: build contexts are relative to it. */
  private stackDir(): string {
    const app = this.stack.node.root as unknown as { outdir?: string };
    return path.resolve(app.outdir ?? 'cdktf.out', 'stacks', this.stack.node.id);
  }

  /**
   * The issues about the account at `accountPath` (its constructs' paths are below it): each account
   * reports its own (MediaAccount's validation), the synthesis what belongs to none (cross-account
   * rules, schema issues of the whole manifest).
   */
  issuesOf(accountPath: string): ValidationIssue[] {
    return this.render().issues.filter((issue) => isUnder(issue.path, accountPath));
  }

  private ownedByAccount(issue: ValidationIssue): boolean {
    return this.stack.node.findAll().some((c) => isAccountSource(c) && isUnder(issue.path, c.node.path));
  }

  private writeManifest(outdir: string): void {
    const { manifest } = this.render();
    const file = path.join(outdir, 'stacks', this.stack.node.id, MANIFEST_FILE);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  }
}

function isUnder(path: string, scope: string): boolean {
  return path === scope || path.startsWith(`${scope}/`);
}

class RenderOnce implements IAspect {
  constructor(private readonly synthesis: LivestackStackSynthesis) {}

  visit(node: IConstruct): void {
    if (node === this.synthesis) this.synthesis.render();
  }
}
