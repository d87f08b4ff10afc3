/**
 * The environment every data-plane workload boots from (see `ENV` in lib/topology): static config,
 * storage root, listen address and workload name. Read and validated once at start, so a malformed
 * config stops the workload with an error naming the variable and the field before anything listens.
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import { ENV } from '../../contract/workload-env';

export interface WorkloadEnv<Config> {
  readonly config: Config;
  readonly storageDir: string;
  readonly listenHost: string;
  readonly workloadName: string;
  /** Raw live config at boot (`LIVESTACK_LIVE_CONFIG`, else the content of `LIVESTACK_LIVE_CONFIG_FILE`), when the workload has one. */
  readonly liveConfigJson?: string;
  /** Where later live configs arrive: `LIVESTACK_LIVE_CONFIG_FILE`, else the storage's control file. */
  readonly liveConfigFile?: string;
}

export class WorkloadEnvError extends Error {}

/** Reads the workload environment and validates `LIVESTACK_CONFIG` against the role's schema. */
export function readWorkloadEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): WorkloadEnv<z.infer<S>> {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new WorkloadEnvError(`environment variable ${name} is not set`);
    return value;
  };
  const liveConfigFile = env[ENV.liveConfigFile] || undefined;
  return {
    config: parseJsonWith(schema, required(ENV.config), ENV.config),
    storageDir: required(ENV.storageDir),
    listenHost: env[ENV.listenHost] || '127.0.0.1',
    workloadName: required(ENV.workloadName),
    liveConfigJson: env[ENV.liveConfig] || (liveConfigFile ? readLiveConfigFile(liveConfigFile) : undefined),
    liveConfigFile,
  };
}

function readLiveConfigFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new WorkloadEnvError(`${ENV.liveConfigFile}: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Parses JSON text and validates it, naming `where` (a variable or file) and each bad field. */
export function parseJsonWith<S extends z.ZodType>(schema: S, text: string, where: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new WorkloadEnvError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new WorkloadEnvError(`${where}: invalid config: ${issues}`);
  }
  return result.data;
}
