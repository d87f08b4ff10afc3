import { Command } from 'commander';
import { renderJson, renderMarkdown, renderTable } from '../../runtime/plan-render';
import { savePlan } from '../../runtime/saved-plan';
import { loadSynthesis } from '../../runtime/desired-state';
import { TerminalError } from '../../runtime/errors';
import { Plan, planAgainstPrevious } from '../../runtime/plan';
import { RuntimeOptions, addRuntimeOptions, loadDesired, openController, openDriver, out } from './runtime-options';

interface PlanOptions extends RuntimeOptions {
  readonly json?: boolean;
  readonly markdown?: boolean;
  readonly out?: string;
  readonly verbose?: boolean;
  readonly against?: string;
}

/** `livestack plan`: what apply would do, with reasons and disruption; exit 0 none, 2 changes, 1 error. */
export function register(program: Command): void {
  addRuntimeOptions(
    program
      .command('plan')
      .description('Show what apply would change, with each reason and what it disrupts. Exit code: 0 no changes, 2 changes, 1 error.')
      .option('--json', 'print the plan as JSON')
      .option('--markdown', 'print the plan as Markdown (for a pull-request comment)')
      .option('--out <file>', 'save the plan; `livestack apply <file>` applies exactly it, or refuses if the world moved')
      .option('-v, --verbose', 'also list unchanged workloads')
      .option('--against <synthesis>', 'plan against a previous synthesis (a cdktf.out directory or a livestack.manifest.json), not what a driver runs: how a Kubernetes app is planned without a cluster'),
  ).action(async (options: PlanOptions) => {
    const desired = await loadDesired(options);
    if (options.against) {
      if (options.out) throw new TerminalError('options', '--out saves a plan for `livestack apply`, which a plan --against cannot be; leave one of them out');
      const previous = loadSynthesis(options.against);
      print(planAgainstPrevious({ desired: desired.specs, stopped: desired.stopped }, previous.specs), options);
      return;
    }
    const driver = await openDriver(options);
    try {
      const view = await openController(driver, options).plan(desired);
      print(view.plan, options);
      if (options.out) {
        savePlan(options.out, { driver: options.driver, stateDir: options.stateDir, source: desired.source, fingerprint: view.fingerprint, manifest: desired.manifest, plan: view.plan });
        if (!options.json && !options.markdown) out(`Saved the plan to ${options.out}; apply it with: livestack apply ${options.out}`);
      }
    } finally {
      await driver.close();
    }
  });
}

/** The plan in the form asked for; exit code 2 when it changes anything. */
function print(plan: Plan, options: PlanOptions): void {
  if (options.json) out(renderJson(plan));
  else if (options.markdown) out(renderMarkdown(plan));
  else out(renderTable(plan, { verbose: options.verbose }));
  process.exitCode = plan.hasChanges ? 2 : 0;
}
