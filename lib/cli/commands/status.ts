import * as path from 'node:path';
import { Command } from 'commander';
import { programPhase } from '../../model/program-schedule';
import { ObservedWorkload } from '../../runtime/drivers/driver';
import { lockHolder } from '../../runtime/lock';
import { AccountStatus, readStatuses } from '../../runtime/status';
import { accessLines } from '../access-text';
import { accessRecordsFor, deploymentAccess } from './deployment-access';
import { RuntimeOptions, addRuntimeOptions, openDriver, out } from './runtime-options';

interface StatusOptions extends RuntimeOptions {
  readonly json?: boolean;
}

/** `livestack status`: each workload's phase and conditions, as last reconciled and as observed now; where to push and play. */
export function register(program: Command): void {
  addRuntimeOptions(
    program
      .command('status')
      .description('Show each workload: phase (observed now), Ready and Degraded conditions with reasons, restarts, ingest health, locators, programs; '
        + 'and where to push and play: ingest URLs, how to obtain each stream key (never the key), playback URLs with their locator ids. '
        + 'With --app or --manifest (e.g. a deployment made with `cdktf deploy`), the URLs come from that app instead of the last apply.')
      .option('--json', 'print the persisted status documents, what the driver observes and the access (URLs) as JSON'),
  ).action(async (options: StatusOptions) => {
    const stateDir = path.resolve(options.stateDir);
    const statuses = [...readStatuses(stateDir).values()];
    const records = await accessRecordsFor(options);
    const driver = await openDriver(options);
    try {
      const observed = await driver.observe();
      const access = await deploymentAccess(driver, records, options);
      if (options.json) {
        out(JSON.stringify({ statuses, observed, access }, null, 2));
        return;
      }
      const holder = lockHolder(stateDir);
      out(holder ? `Controller: pid ${holder.owner.pid} (${holder.command})` : 'Controller: none running (workloads keep running; `livestack apply` or `up` reconciles)');
      out(render(statuses, observed));
      const where = accessLines(access);
      if (where.length > 0) out(['', ...where].join('\n'));
    } finally {
      await driver.close();
    }
  });
}

function render(statuses: AccountStatus[], observed: ObservedWorkload[]): string {
  const now = new Map(observed.map((w) => [w.name, w]));
  const rows: string[][] = [];
  const names = new Set<string>();
  for (const account of statuses) {
    for (const w of account.workloads) {
      names.add(w.name);
      const live = now.get(w.name);
      const ready = w.conditions.find((c) => c.type === 'Ready');
      const degraded = w.conditions.find((c) => c.type === 'Degraded');
      const health = w.ingestHealth
        ? `publisher ${w.ingestHealth.publisherConnected ? `connected${w.ingestHealth.publisherProtocol ? ` (${w.ingestHealth.publisherProtocol.toUpperCase()})` : ''}` : 'none'}${w.ingestHealth.inputBitrateKbps ? `, ${Math.round(w.ingestHealth.inputBitrateKbps)} kbps` : ''}`
        : '';
      rows.push([
        w.name, w.role, live?.phase ?? 'absent', `${ready?.status ?? '?'} ${ready?.reason ?? ''}`,
        degraded?.status === 'True' ? degraded.reason : '-', String(live?.restarts ?? w.restarts),
        `${w.observedGeneration}/${account.generation}`,
        [health, degraded?.status === 'True' ? degraded.message : undefined, live?.addresses?.length ? `on ${live.addresses.join(', ')}` : undefined].filter(Boolean).join('; '),
      ]);
    }
  }
  for (const w of observed) {
    if (!names.has(w.name)) rows.push([w.name, w.role, w.phase, 'unknown (never reconciled here)', '-', String(w.restarts), '-', w.detail ?? '']);
  }
  if (rows.length === 0) return 'No workloads.';
  const header = ['WORKLOAD', 'ROLE', 'PHASE', 'READY', 'DEGRADED', 'RESTARTS', 'GEN', 'DETAIL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  const lines = [line(header), ...rows.map(line)];
  // Their URLs, with ids derived from the account's key, follow under Playback (never stored in status).
  const locators = statuses.flatMap((a) => a.locators.map((l) => `  ${a.account}/${l.name}: ${l.state}${l.start ? ` from ${l.start}` : ''}${l.end ? ` until ${l.end}` : ''}`));
  if (locators.length > 0) lines.push('', 'Locators:', ...locators);
  // The ingest keeps schedules by its own clock, controller or not: a phase is shown as of now.
  const programs = statuses.flatMap((a) => (a.programs ?? []).map((p) => {
    const state = p.state === 'stopped' ? p.state : programPhase({ state: 'running', start: p.start, end: p.end }, Date.now());
    return `  ${a.account}/${p.channel}/${p.name} (asset ${p.assetName}): ${state}${p.start ? ` from ${p.start}` : ''}${p.end ? ` until ${p.end}` : ''}`;
  }));
  if (programs.length > 0) lines.push('', 'Programs:', ...programs);
  return lines.join('\n');
}
