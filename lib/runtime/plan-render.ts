/**
 * Plans for people: a terminal table, a Markdown table for a pull-request comment, and JSON for
 * tools. Every form shows each action's reason and disruption flags; none shows a secret or a
 * locator id (names only).
 */
import { ActionKind, DisruptionFlag, Plan, PlannedAction } from './plan';

const SYMBOL: Record<ActionKind, string> = { create: '+', replace: '-/+', update: '~', delete: '-', keep: ' ' };

const FLAG_TEXT: Record<DisruptionFlag, string> = {
  'live-ingest-restarted': 'live ingest restarted',
  'live-ingest-stopped': 'live ingest stopped',
  'ingest-url-changed': 'ingest URL changed',
  'ingest-protocol-changed': 'ingest protocols changed (encoders must switch)',
  'locator-withdrawn': 'locator withdrawn',
  'playback-interrupted': 'playback interrupted',
  'key-delivery-interrupted': 'key delivery interrupted',
};

export function describeDisruption(action: PlannedAction): string {
  return action.disruptions
    .map((flag) => (flag === 'locator-withdrawn' && action.withdrawnLocators ? `${FLAG_TEXT[flag]}: ${action.withdrawnLocators.join(', ')}` : FLAG_TEXT[flag]))
    .join('; ');
}

export function summarize(plan: Plan): string {
  const c = plan.counts;
  if (!plan.hasChanges) return `No changes. ${c.keep} workload${c.keep === 1 ? '' : 's'} up to date.`;
  return `Plan: ${c.create} to create, ${c.replace} to replace, ${c.update} to update in place, ${c.delete} to delete, ${c.keep} unchanged.`;
}

/** Aligned columns; unchanged workloads only with `verbose`. */
export function renderTable(plan: Plan, options: { verbose?: boolean } = {}): string {
  const rows = plan.actions
    .filter((a) => options.verbose || a.kind !== 'keep')
    .map((a) => [`${SYMBOL[a.kind]} ${a.kind}`, a.name, a.role, a.reason, describeDisruption(a) ? `! ${describeDisruption(a)}` : '']);
  if (rows.length === 0) return summarize(plan);
  const header = ['ACTION', 'WORKLOAD', 'ROLE', 'REASON', 'DISRUPTION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line), '', summarize(plan)].join('\n');
}

export function renderMarkdown(plan: Plan): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  const changes = plan.actions.filter((a) => a.kind !== 'keep');
  const disrupting = changes.filter((a) => a.disruptions.length > 0);
  const lines = ['### livestack plan', '', `**${summarize(plan)}**`];
  if (disrupting.length > 0) lines.push('', `> :warning: ${disrupting.length} action${disrupting.length === 1 ? '' : 's'} disrupt${disrupting.length === 1 ? 's' : ''} viewers or encoders.`);
  if (changes.length > 0) {
    lines.push('', '| Action | Workload | Role | Reason | Disruption |', '| --- | --- | --- | --- | --- |');
    for (const a of changes) lines.push(`| ${a.kind} | \`${a.name}\` | ${a.role} | ${escape(a.reason)} | ${escape(describeDisruption(a)) || '-'} |`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderJson(plan: Plan): string {
  return `${JSON.stringify({ hasChanges: plan.hasChanges, counts: plan.counts, actions: plan.actions }, null, 2)}\n`;
}
