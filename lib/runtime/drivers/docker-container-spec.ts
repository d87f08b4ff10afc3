/**
 * Rendered container (lib/render/docker-container.ts) -> Docker Engine API create body: a renaming of
 * fields, as lib/synth/docker-resources.ts renames the same description into `docker_container`. Only
 * the secret variables are resolved here, to the values the runtime was given.
 */
import type { ContainerCreateOptions } from 'dockerode';
import { ContainerHealthcheck, DockerContainer } from '../../render/docker-container';

/** Docker counts durations (health checks, stop and restart delays) in nanoseconds. */
export const NS_PER_SECOND = 1_000_000_000;

export function containerCreateOptions(container: DockerContainer, secretValues: Record<string, string>): ContainerCreateOptions & { name: string } {
  const env = { ...container.env, ...secretValues };
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of container.ports) {
    const key = `${port.internal}/${port.protocol}`;
    exposedPorts[key] = {};
    (portBindings[key] ??= []).push({ HostIp: port.ip, HostPort: String(port.external) });
  }
  return {
    name: container.name,
    Image: container.image,
    Cmd: [...container.command],
    Env: Object.keys(env).sort().map((key) => `${key}=${env[key]}`),
    Labels: { ...container.labels },
    ExposedPorts: exposedPorts,
    Healthcheck: engineHealthcheck(container.healthcheck),
    HostConfig: {
      NetworkMode: container.network,
      PortBindings: portBindings,
      Mounts: container.mounts.map((m) => (m.hostPath !== undefined
        ? { Type: 'bind' as const, Source: m.hostPath, Target: m.target, ReadOnly: m.readOnly }
        : { Type: 'volume' as const, Source: m.volume, Target: m.target, ReadOnly: m.readOnly })),
      RestartPolicy: { Name: container.restart },
      Init: container.init,
      LogConfig: { Type: container.log.driver, Config: { ...container.log.options } },
    },
    NetworkingConfig: { EndpointsConfig: { [container.network]: { Aliases: [...container.aliases] } } },
  };
}

/** A health check as the Engine API takes it (containers and swarm services alike: durations in nanoseconds). */
export function engineHealthcheck(check: ContainerHealthcheck): { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number } {
  return {
    Test: [...check.test],
    Interval: check.intervalSeconds * NS_PER_SECOND,
    Timeout: check.timeoutSeconds * NS_PER_SECOND,
    Retries: check.retries,
    StartPeriod: check.startPeriodSeconds * NS_PER_SECOND,
  };
}
