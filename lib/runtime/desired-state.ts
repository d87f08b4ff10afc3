/**
 * The desired state the controller reconciles to: a validated manifest and the workload specs topology
 * renders from it. Anything wrong here (unreadable file, schema violation, dangling reference) is a
 * terminal error raised before any driver is touched, so bad input never disturbs what runs.
 */
import * as fs from 'node:fs';
import { Manifest, manifest as manifestSchema } from '../model/manifest';
import { topology } from '../topology';
import { WorkloadSpec } from '../topology/workload-spec';
import { contentHash } from '../util/stable-json';
import { TerminalError, errorMessage } from './errors';

export interface DesiredState {
  readonly manifest: Manifest;
  /** Sorted by name. */
  readonly specs: WorkloadSpec[];
  /** Construct paths of channels and endpoints declared `stopped`. */
  readonly stopped: ReadonlySet<string>;
  /** Content hash of the manifest: a new hash is a new generation. */
  readonly hash: string;
  /** Where it came from, for messages. */
  readonly source: string;
}

/** Validate a parsed manifest and render its workloads; throws TerminalError naming `source` and the field. */
export function desiredState(input: unknown, source: string): DesiredState {
  const parsed = manifestSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map((issue) => `  - ${formatPath(issue.path)}: ${issue.message}`);
    const more = parsed.error.issues.length > 10 ? `\n  (${parsed.error.issues.length - 10} more)` : '';
    throw new TerminalError(source, `not a valid livestack manifest:\n${issues.join('\n')}${more}`);
  }
  const manifest = parsed.data;
  let specs: WorkloadSpec[];
  try {
    specs = topology(manifest);
  } catch (error) {
    throw new TerminalError(source, errorMessage(error));
  }
  const duplicate = specs.find((spec, index) => index > 0 && specs[index - 1].name === spec.name);
  if (duplicate) throw new TerminalError(source, `two workloads would be named ${duplicate.name}: account, channel and endpoint names must be unique`);
  const stopped = new Set<string>();
  for (const account of manifest.accounts) {
    for (const item of [...account.channels, ...account.endpoints]) if (item.state === 'stopped') stopped.add(item.path);
  }
  return { manifest, specs, stopped, hash: contentHash(manifest), source };
}

/** Read a `livestack.manifest.json` file. */
export function loadManifestFile(file: string): DesiredState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new TerminalError(file, `cannot read the manifest: ${errorMessage(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TerminalError(file, `not JSON: ${errorMessage(error)}`);
  }
  return desiredState(json, file);
}

/** Epoch ms of every locator start or end still ahead of `now`: when the served set changes by itself. */
export function upcomingTimers(state: DesiredState, now: number): number[] {
  const times: number[] = [];
  for (const account of state.manifest.accounts) {
    for (const locator of account.locators) {
      for (const time of [locator.start, locator.end]) {
        const at = time ? Date.parse(time) : NaN;
        if (at > now) times.push(at);
      }
    }
  }
  return times.sort((a, b) => a - b);
}

function formatPath(path: PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}
