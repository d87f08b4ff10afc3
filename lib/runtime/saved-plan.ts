/**
 * A saved plan (`livestack plan --out FILE`): the manifest it was made for, the driver and state
 * directory, the fingerprint of the world it was made against, and its actions. `livestack apply FILE`
 * applies exactly that manifest and refuses when the world has moved since, as Terraform does.
 * It holds no secret: manifests carry only secret references.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { Manifest } from '../model/manifest';
import { writeFileAtomic } from '../util/files';
import { TerminalError, errorMessage } from './errors';
import { Plan } from './plan';

export const SAVED_PLAN_FORMAT = 'livestack-plan/v1';

const savedPlanSchema = z.object({
  format: z.literal(SAVED_PLAN_FORMAT),
  createdAt: z.string(),
  driver: z.enum(['local', 'docker', 'swarm']),
  stateDir: z.string(),
  source: z.string(),
  fingerprint: z.string(),
  manifest: z.unknown(),
  plan: z.object({ hasChanges: z.boolean(), counts: z.record(z.string(), z.number()), actions: z.array(z.unknown()) }),
});
export type SavedPlan = z.infer<typeof savedPlanSchema>;

export function savePlan(file: string, input: { driver: 'local' | 'docker' | 'swarm'; stateDir: string; source: string; fingerprint: string; manifest: Manifest; plan: Plan }): void {
  const saved: SavedPlan = {
    format: SAVED_PLAN_FORMAT,
    createdAt: new Date().toISOString(),
    driver: input.driver,
    stateDir: path.resolve(input.stateDir),
    source: input.source,
    fingerprint: input.fingerprint,
    manifest: input.manifest,
    plan: { hasChanges: input.plan.hasChanges, counts: input.plan.counts, actions: [...input.plan.actions] },
  };
  writeFileAtomic(file, `${JSON.stringify(saved, null, 2)}\n`);
}

export function readSavedPlan(file: string): SavedPlan {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TerminalError(file, `cannot read the saved plan: ${errorMessage(error)}`);
  }
  const parsed = savedPlanSchema.safeParse(json);
  if (!parsed.success) throw new TerminalError(file, `not a saved livestack plan (${SAVED_PLAN_FORMAT}): ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
