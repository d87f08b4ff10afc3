/**
 * Values of a spec's secret environment, read from `TF_VAR_<variable>` as Terraform would: how every
 * driver turns the variable names in a spec into the env a workload gets. A missing variable is a
 * terminal error naming the variable (retrying cannot fix it); values never enter messages.
 */
import { WorkloadSpec } from '../../contract/workload-spec';
import { TerminalError } from '../errors';

export function resolveSecretEnv(spec: Pick<WorkloadSpec, 'name' | 'secretEnv'>, env: NodeJS.ProcessEnv): Record<string, string> {
  const resolved: Record<string, string> = {};
  const missing: string[] = [];
  for (const [envName, variable] of Object.entries(spec.secretEnv)) {
    const value = env[`TF_VAR_${variable}`];
    if (value === undefined || value === '') missing.push(variable);
    else resolved[envName] = value;
  }
  if (missing.length > 0) {
    const names = missing.map((v) => `TF_VAR_${v}`).join(', ');
    throw new TerminalError(
      `workload ${spec.name}`,
      `needs the secret variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: set ${names} in the environment of livestack`,
    );
  }
  return resolved;
}

/** The runner's environment without Terraform variables: secrets reach only the workloads that need them. */
export function withoutTerraformVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) if (!key.startsWith('TF_VAR_')) kept[key] = value;
  return kept;
}
