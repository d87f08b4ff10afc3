import * as path from 'node:path';
import { originLiveConfig } from '../../contract/workload-config';
import { readAppliedRecords } from '../../runtime/applied-records';
import { Command } from 'commander';
import { programPhase } from '../../model/program-schedule';
import { ObservedWorkload } from '../../runtime/drivers/driver';
import { lockHolder } from '../../runtime/lock';
import { AccountStatus, readStatuses } from '../../runtime/status';
import { withLocatorId } from '../../runtime/access';
import { readLocatorIdKey } from '../../contract/locator-ids';
import { ingestLines, ingestProtocols } from './ingest-lines';
import { RuntimeOptions, addRuntimeOptions, openDriver, out } from './runtime-options';

interface StatusOptions extends RuntimeOptions {
  readonly json?: boolean;
}

/** `livestack status`: each workload's phase and conditions, as last reconciled and as observed now. */
export function register(program: Command): void {
  addRuntimeOptions(
    program
      .command('status')
      .description('Show each workload: phase (observed now), Ready and Degraded conditions with reasons, restarts, ingest health, locators, programs.')
      .option('--json', 'print the persisted status documents as JSON'),
    { desired: false },
  ).action(async (options: StatusOptions) => {
    const stateDir = path.resolve(options.stateDir);
    const statuses = [...readStatuses(stateDir).values()];
    const driver = await openDriver(options);
    try {
      const observed = await driver.observe();
      if (options.json) {
        out(JSON.stringify({ statuses, observed }, null, 2));
        return;
      }
      const holder = lockHolder(stateDir);
      out(holder ? `Controller: pid ${holder.owner.pid} (${holder.command})` : 'Controller: none running (workloads keep running; `livestack apply` or `up` reconciles)');
      const idKeys = new Map(await Promise.all(statuses.map(async (s) => [s.account, readLocatorIdKey(await driver.storageDir(s.account))] as const)));
      out(render(statuses, observed, idKeys, explicitLocatorIds(stateDir)));
    } finally {
      await driver.close();
    }
  });
}

/** Ids the app set itself (`locatorId`), by `account/locator`, from what the controller last applied to origins. */
function explicitLocatorIds(stateDir: string): Map<string, string> {
  const ids = new Map<string, string>();
  for (const spec of readAppliedRecords(stateDir).values()) {
    const live = spec.role === 'origin' ? originLiveConfig.safeParse(spec.liveConfig) : undefined;
    for (const locator of live?.success ? live.data.locators : []) if (locator.id) ids.set(`${spec.account}/${locator.name}`, locator.id);
  }
  return ids;
}

function render(statuses: AccountStatus[], observed: ObservedWorkload[], idKeys: ReadonlyMap<string, string | undefined>, explicitIds: ReadonlyMap<string, string>): string {
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
        `${w.observedGeneration}/${account.generation}`, health || (degraded?.status === 'True' ? degraded.message ?? '' : ''),
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
  // Locator ids are derived from the account's key in its storage (contract/locator-ids.ts); shown here, never stored in status.
  const locators = statuses.flatMap((a) => a.locators.flatMap((l) => [
    `  ${a.account}/${l.name}: ${l.state}${l.start ? ` from ${l.start}` : ''}${l.end ? ` until ${l.end}` : ''}`,
    ...(l.urls ?? []).map((url) => `    ${withLocatorId(url, idKeys.get(a.account), { account: a.account, name: l.name, id: explicitIds.get(`${a.account}/${l.name}`) })}`),
  ]));
  if (locators.length > 0) lines.push('', 'Locators:', ...locators);
  // The ingest keeps schedules by its own clock, controller or not: a phase is shown as of now.
  const programs = statuses.flatMap((a) => (a.programs ?? []).map((p) => {
    const state = p.state === 'stopped' ? p.state : programPhase({ state: 'running', start: p.start, end: p.end }, Date.now());
    return `  ${a.account}/${p.channel}/${p.name} (asset ${p.assetName}): ${state}${p.start ? ` from ${p.start}` : ''}${p.end ? ` until ${p.end}` : ''}`;
  }));
  if (programs.length > 0) lines.push('', 'Programs:', ...programs);
  const ingest = statuses.flatMap((a) => a.ingest ?? []);
  if (ingest.length > 0) lines.push('', `Ingest (${ingestProtocols(ingest)}):`, ...ingest.flatMap((i) => ingestLines(i, { tryCommands: false })));
  return lines.join('\n');
}
