/**
 * Workload spec -> Docker Engine API container. Pure, so the equivalence with the Terraform synth
 * (`docker_container` in `cdk.tf.json`) can be read off one function: name, image, argv, env, ports,
 * mounts and labels come from the spec unchanged; only secret variables are resolved here.
 */
import type { ContainerCreateOptions } from 'dockerode';
import { STORAGE_MOUNT, WorkloadSpec } from '../../contract/workload-spec';
import { TerminalError } from '../errors';

/** Docker counts health check durations in nanoseconds. */
const NS_PER_SECOND = 1_000_000_000;

/**
 * json-file logs bounded per container: a long-running ingest must not fill the disk with its logs.
 * The Terraform synth sets the same (lib/synth/docker-resources.ts).
 */
export const CONTAINER_LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } } as const;

/**
 * Values of a spec's secret environment, read from `TF_VAR_<variable>` as Terraform would. A missing
 * variable is a terminal error naming the variable (retrying cannot fix it); values never enter messages.
 */
export function resolveSecretEnv(spec: WorkloadSpec, env: NodeJS.ProcessEnv): Record<string, string> {
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

/**
 * The Engine API create body of a workload on its account's network (where its name is its alias),
 * with its secret env values already resolved.
 */
export function containerCreateOptions(
  spec: WorkloadSpec,
  secretValues: Record<string, string>,
): ContainerCreateOptions & { name: string } {
  const env = { ...spec.env, ...secretValues };
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.containerPort}/${port.protocol}`;
    exposedPorts[key] = {};
    (portBindings[key] ??= []).push({ HostIp: port.hostIp, HostPort: String(port.hostPort) });
  }
  return {
    name: spec.name,
    Image: spec.image,
    Cmd: [...spec.command],
    Env: Object.keys(env).sort().map((key) => `${key}=${env[key]}`),
    Labels: { ...spec.labels },
    ExposedPorts: exposedPorts,
    Healthcheck: {
      Test: [...spec.healthCheck.command],
      Interval: spec.healthCheck.intervalSeconds * NS_PER_SECOND,
      Timeout: spec.healthCheck.timeoutSeconds * NS_PER_SECOND,
      Retries: spec.healthCheck.retries,
      StartPeriod: spec.healthCheck.startPeriodSeconds * NS_PER_SECOND,
    },
    HostConfig: {
      NetworkMode: spec.network,
      PortBindings: portBindings,
      Mounts: spec.mounts.map((m) => ({ Type: 'volume' as const, Source: m.volume, Target: m.target, ReadOnly: m.readOnly })),
      RestartPolicy: { Name: 'unless-stopped' },
      // An init as PID 1 forwards signals and reaps the nginx and ffmpeg children of a workload.
      Init: true,
      LogConfig: { Type: CONTAINER_LOG_CONFIG.Type, Config: { ...CONTAINER_LOG_CONFIG.Config } },
    },
    NetworkingConfig: { EndpointsConfig: { [spec.network]: { Aliases: [spec.name] } } },
  };
}

/** The account storage volume of a spec (mounted at the storage root). */
export function storageVolume(spec: WorkloadSpec): string | undefined {
  return spec.mounts.find((m) => m.target === STORAGE_MOUNT)?.volume;
}
