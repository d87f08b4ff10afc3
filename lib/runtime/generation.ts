/**
 * The generation: a counter that moves when the desired manifest changes, persisted in
 * `<stateDir>/generation.json`. Status reports, per workload, the generation it last matched
 * (observedGeneration), so "applied but not yet converged" is visible.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/files';

interface GenerationRecord {
  readonly generation: number;
  readonly desiredHash: string;
}

const fileOf = (stateDir: string) => path.join(stateDir, 'generation.json');

export function readGeneration(stateDir: string): GenerationRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(fileOf(stateDir), 'utf8')) as GenerationRecord;
  } catch {
    return undefined;
  }
}

/** The generation of `desiredHash`: the current one if unchanged, else the next (recorded). */
export function generationFor(stateDir: string, desiredHash: string): number {
  const current = readGeneration(stateDir);
  if (current?.desiredHash === desiredHash) return current.generation;
  const next = { generation: (current?.generation ?? 0) + 1, desiredHash };
  writeFileAtomic(fileOf(stateDir), `${JSON.stringify(next)}\n`);
  return next.generation;
}
