import { Command } from 'commander';
import { renderJson, renderMarkdown, renderTable } from '../../runtime/plan-render';
import { savePlan } from '../../runtime/saved-plan';
import { RuntimeOptions, addRuntimeOptions, loadDesired, openController, openDriver, out } from './runtime-options';

interface PlanOptions extends RuntimeOptions {
  readonly json?: boolean;
  readonly markdown?: boolean;
  readonly out?: string;
  readonly verbose?: boolean;
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
      .option('-v, --verbose', 'also list unchanged workloads'),
  ).action(async (options: PlanOptions) => {
    const desired = await loadDesired(options);
    const driver = await openDriver(options);
    try {
      const view = await openController(driver, options).plan(desired);
      if (options.json) out(renderJson(view.plan));
      else if (options.markdown) out(renderMarkdown(view.plan));
      else out(renderTable(view.plan, { verbose: options.verbose }));
      if (options.out) {
        savePlan(options.out, { driver: options.driver, stateDir: options.stateDir, source: desired.source, fingerprint: view.fingerprint, manifest: desired.manifest, plan: view.plan });
        if (!options.json && !options.markdown) out(`Saved the plan to ${options.out}; apply it with: livestack apply ${options.out}`);
      }
      process.exitCode = view.plan.hasChanges ? 2 : 0;
    } finally {
      await driver.close();
    }
  });
}
