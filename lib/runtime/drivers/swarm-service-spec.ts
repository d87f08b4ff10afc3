/**
 * Rendered service (lib/render/swarm-service.ts) -> Docker Engine API ServiceSpec: a renaming of
 * fields, as lib/synth/swarm-resources.ts renames the same description into `docker_service`. Only the
 * Docker secrets are bound here, to the ids of the secrets the driver created from the runtime's values.
 */
import { SwarmSecretRef, SwarmService } from '../../render/swarm-service';
import { NS_PER_SECOND, engineHealthcheck } from './docker-container-spec';


/** A Docker secret as a service references it. */
export interface BoundSecret {
  readonly ref: SwarmSecretRef;
  readonly secretId: string;
  readonly secretName: string;
}

// The subset of the Engine API's ServiceSpec livestack sets (dockerode's own typing of it is loose).
export interface EngineServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: Record<string, unknown>;
  Mode: { Replicated: { Replicas: number } };
  UpdateConfig: Record<string, unknown>;
  EndpointSpec: { Mode: 'vip' | 'dnsrr'; Ports: Record<string, unknown>[] };
}

export function serviceSpec(service: SwarmService, secrets: readonly BoundSecret[]): EngineServiceSpec {
  const env = service.env;
  return {
    Name: service.name,
    Labels: { ...service.labels },
    TaskTemplate: {
      ContainerSpec: {
        Image: service.image,
        Command: [...service.command],
        Env: Object.keys(env).sort().map((key) => `${key}=${env[key]}`),
        Labels: { ...service.containerLabels },
        Mounts: service.mounts.map((m) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly })),
        Healthcheck: engineHealthcheck(service.healthcheck),
        Secrets: secrets.map((s) => ({ SecretID: s.secretId, SecretName: s.secretName, File: { Name: s.ref.fileName, UID: s.ref.uid, GID: s.ref.gid, Mode: s.ref.mode } })),
        StopGracePeriod: service.stopGracePeriodSeconds * NS_PER_SECOND,
      },
      RestartPolicy: { Condition: service.restart.condition, Delay: service.restart.delaySeconds * NS_PER_SECOND, MaxAttempts: service.restart.maxAttempts },
      Placement: {
        Constraints: [...service.placement.constraints],
        Preferences: service.placement.preferences.map((p) => ({ Spread: { SpreadDescriptor: p.replace(/^spread=/, '') } })),
        ...(service.placement.maxReplicas !== undefined ? { MaxReplicas: service.placement.maxReplicas } : {}),
      },
      Resources: {
        Reservations: definedOnly({ NanoCPUs: service.resources.reservations.nanoCpus, MemoryBytes: service.resources.reservations.memoryBytes }),
        Limits: definedOnly({ NanoCPUs: service.resources.limits.nanoCpus, MemoryBytes: service.resources.limits.memoryBytes }),
      },
      LogDriver: { Name: service.log.driver, Options: { ...service.log.options } },
    },
    Mode: { Replicated: { Replicas: service.replicas } },
    UpdateConfig: {
      Parallelism: service.update.parallelism,
      Order: service.update.order,
      FailureAction: service.update.failureAction,
      Monitor: service.update.monitorSeconds * NS_PER_SECOND,
    },
    EndpointSpec: {
      Mode: service.endpointMode,
      Ports: service.ports.map((p) => ({ Protocol: p.protocol, TargetPort: p.target, PublishedPort: p.published, PublishMode: p.publishMode })),
    },
  };
}

function definedOnly(values: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, number] => e[1] !== undefined));
}
