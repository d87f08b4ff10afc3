/**
 * Rendered services (lib/render/swarm-service.ts) -> @cdktf/provider-docker `docker_service` and
 * `docker_secret` resources, for accounts on Platform.swarm(): a renaming of fields, no decisions, so
 * the services Terraform creates are the services the runtime's swarm driver creates (a test holds
 * them equal). The provider must point at a swarm manager.
 */
import { Construct } from 'constructs';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Secret } from '@cdktf/provider-docker/lib/secret';
import { Service } from '@cdktf/provider-docker/lib/service';
import { LABELS } from '../contract/labels';
import { WorkloadSpec } from '../contract/workload-spec';
import { AccountManifest } from '../model/manifest';
import { SwarmService, swarmService } from '../render/swarm-service';
import { logicalId, terraformHealthcheck } from './docker-resources';

/**
 * The Docker secret name of a variable as Terraform computes it: the same name the driver gives it
 * (`swarmSecretName`), its value's fingerprint taken by Terraform's own sha256().
 */
export function terraformSecretName(account: string, variable: string): string {
  return `ls-${account}-${variable}-\${substr(sha256(var.${variable}), 0, 12)}`;
}

/** The provider (unless the stack has one), each account's Docker secrets, and one service per workload. */
export function swarmStackResources(scope: Construct, accounts: readonly AccountManifest[], specs: readonly WorkloadSpec[]): void {
  if (accounts.length === 0) return;
  if (!scope.node.scope?.node.findAll().some((c) => c instanceof DockerProvider)) new DockerProvider(scope, 'docker', {});
  for (const account of accounts) {
    const services = specs.filter((s) => s.account === account.name).map(swarmService);
    const secrets = new Map<string, Secret>();
    for (const ref of services.flatMap((s) => s.secrets)) {
      if (secrets.has(ref.variable)) continue;
      const secret = new Secret(scope, logicalId(`secret_${account.name}_${ref.variable}`), {
        name: terraformSecretName(account.name, ref.variable),
        // Terraform resolves the sensitive variable at apply time: the value never enters cdk.tf.json.
        data: `\${base64encode(var.${ref.variable})}`,
        labels: [{ label: LABELS.managedBy, value: 'livestack' }, { label: LABELS.account, value: account.name }],
        // A new value is a new secret: create it before the old one goes, as services move over.
        lifecycle: { createBeforeDestroy: true },
      });
      secret.overrideLogicalId(logicalId(`${account.name}_secret_${ref.variable}`));
      secrets.set(ref.variable, secret);
    }
    for (const service of services) workloadService(scope, service, secrets);
  }
}

function workloadService(scope: Construct, service: SwarmService, secrets: ReadonlyMap<string, Secret>): Service {
  const labels = (record: Readonly<Record<string, string>>) => Object.entries(record).map(([label, value]) => ({ label, value }));
  const resources = (r: { nanoCpus?: number; memoryBytes?: number }) => ({
    ...(r.nanoCpus !== undefined ? { nanoCpus: r.nanoCpus } : {}),
    ...(r.memoryBytes !== undefined ? { memoryBytes: r.memoryBytes } : {}),
  });
  const resource = new Service(scope, service.name, {
    name: service.name,
    labels: labels(service.labels),
    mode: { replicated: { replicas: service.replicas } },
    taskSpec: {
      containerSpec: {
        image: service.image,
        command: [...service.command],
        env: { ...service.env },
        labels: labels(service.containerLabels),
        mounts: service.mounts.map((m) => ({ type: m.type, source: m.source, target: m.target, readOnly: m.readOnly })),
        healthcheck: terraformHealthcheck(service.healthcheck),
        secrets: service.secrets.map((ref) => ({
          secretId: secrets.get(ref.variable)!.id,
          secretName: secrets.get(ref.variable)!.name,
          fileName: ref.fileName,
          fileUid: ref.uid,
          fileGid: ref.gid,
          fileMode: ref.mode,
        })),
        stopGracePeriod: `${service.stopGracePeriodSeconds}s`,
      },
      restartPolicy: { condition: service.restart.condition, delay: `${service.restart.delaySeconds}s`, maxAttempts: service.restart.maxAttempts },
      placement: {
        constraints: [...service.placement.constraints],
        prefs: [...service.placement.preferences],
        ...(service.placement.maxReplicas !== undefined ? { maxReplicas: service.placement.maxReplicas } : {}),
      },
      resources: { reservation: resources(service.resources.reservations), limits: resources(service.resources.limits) },
      logDriver: { name: service.log.driver, options: { ...service.log.options } },
    },
    updateConfig: {
      parallelism: service.update.parallelism,
      order: service.update.order,
      failureAction: service.update.failureAction,
      monitor: `${service.update.monitorSeconds}s`,
    },
    endpointSpec: {
      mode: service.endpointMode,
      ports: service.ports.map((p) => ({ targetPort: p.target, publishedPort: p.published, protocol: p.protocol, publishMode: p.publishMode })),
    },
  });
  resource.overrideLogicalId(logicalId(service.name));
  return resource;
}
