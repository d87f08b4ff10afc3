/**
 * What the controller last applied to each workload, under `<stateDir>/applied/<name>.json`: the spec
 * itself (specs hold no secret values). Drivers report only hashes; these records let a plan explain
 * a replace (which fields changed) and flag disruption (an ingest URL changed, a locator withdrawn).
 * They are hints for explanations, never the source of truth about what runs: that is `observe()`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/files';
import { WorkloadSpec } from '../contract/workload-spec';

export type AppliedRecords = ReadonlyMap<string, WorkloadSpec>;

const dirOf = (stateDir: string) => path.join(stateDir, 'applied');

export function readAppliedRecords(stateDir: string): Map<string, WorkloadSpec> {
  const records = new Map<string, WorkloadSpec>();
  let files: string[];
  try {
    files = fs.readdirSync(dirOf(stateDir));
  } catch {
    return records;
  }
  for (const file of files) {
    if (!file.endsWith('.json')) continue;
    try {
      const spec = JSON.parse(fs.readFileSync(path.join(dirOf(stateDir), file), 'utf8')) as WorkloadSpec;
      records.set(spec.name, spec);
    } catch {
      // A record is only a hint; an unreadable one means a less detailed explanation, not an error.
    }
  }
  return records;
}

export function writeAppliedRecord(stateDir: string, spec: WorkloadSpec): void {
  writeFileAtomic(path.join(dirOf(stateDir), `${spec.name}.json`), JSON.stringify(spec), 0o600);
}

export function removeAppliedRecord(stateDir: string, name: string): void {
  fs.rmSync(path.join(dirOf(stateDir), `${name}.json`), { force: true });
}
