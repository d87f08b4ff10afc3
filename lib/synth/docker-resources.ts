/**
 * Rendered containers (lib/render/docker-container.ts) -> @cdktf/provider-docker resources: a renaming
 * of fields, no decisions, so the containers Terraform creates are the containers the runtime's docker
 * driver creates (a test holds them equal). Provider classes are imported by path: the provider's
 * index is large and slow to load.
 */
import * as path from 'node:path';
import { Construct } from 'constructs';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { LABELS } from '../contract/labels';
import { WorkloadSpec } from '../contract/workload-spec';
import { Manifest } from '../model/manifest';
import { ContainerHealthcheck, DockerContainer, dockerContainer } from '../render/docker-container';
import { packageRoot } from '../util/package-root';

/** Terraform-friendly logical id from a workload or resource name. */
export function logicalId(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * References to an account's shared resources. Each reference is created once: cdktf records a stack
 * trace for every token it creates, which dominates synth time when made per container.
 */
interface AccountResources {
  readonly networkName: string;
  readonly volumeName: string;
  readonly imageId: string;
}

/** The provider (unless the stack has one), each account's network, volume and image, and one container per workload. */
export function dockerStackResources(scope: Construct, manifest: Manifest, specs: readonly WorkloadSpec[], stackDir: string): void {
  if (!scope.node.scope?.node.findAll().some((c) => c instanceof DockerProvider)) new DockerProvider(scope, 'docker', {});
  const images = new Map<string, Image>();
  for (const account of manifest.accounts) {
    const containers = specs.filter((s) => s.account === account.name).map(dockerContainer);
    if (containers.length === 0) continue;
    const resources = accountResources(scope, account.name, containers[0], stackDir, images);
    for (const container of containers) workloadContainer(scope, container, resources);
  }
}

/**
 * Network, storage volume and runtime image of an account (as its containers name them). Images are
 * shared between accounts that run the same one; `stackDir` is where Terraform runs, so the build
 * context is relative to it and the output does not depend on the machine it was synthesized on.
 */
function accountResources(scope: Construct, account: string, sample: DockerContainer, stackDir: string, images: Map<string, Image>): AccountResources {
  const labels = [{ label: LABELS.managedBy, value: 'livestack' }, { label: LABELS.account, value: account }];
  const network = new Network(scope, logicalId(`network_${account}`), { name: sample.network, labels });
  network.overrideLogicalId(logicalId(`${account}_network`));
  const volume = new Volume(scope, logicalId(`volume_${account}`), { name: sample.mounts[0]?.volume ?? `livestack-${account}-storage`, labels });
  volume.overrideLogicalId(logicalId(`${account}_storage`));
  const key = `${sample.image} ${sample.imageBuild?.baseImage ?? ''}`;
  let image = images.get(key);
  if (!image) {
    image = new Image(scope, logicalId(`image_${sample.image}_${images.size}`), {
      name: sample.image,
      keepLocally: true,
      buildAttribute: sample.imageBuild === undefined ? undefined : {
        context: path.relative(stackDir, packageRoot()) || '.',
        dockerfile: sample.imageBuild.dockerfile,
        buildArgs: { BASE_IMAGE: sample.imageBuild.baseImage },
      },
    });
    image.overrideLogicalId(logicalId(`runtime_image_${images.size}`));
    images.set(key, image);
  }
  return { networkName: network.name, volumeName: volume.name, imageId: image.imageId };
}

/** One docker_container for one rendered container. */
function workloadContainer(scope: Construct, container: DockerContainer, resources: AccountResources): Container {
  const resource = new Container(scope, container.name, {
    name: container.name,
    image: resources.imageId,
    command: [...container.command],
    env: terraformEnv(container),
    ports: container.ports.map((p) => ({ internal: p.internal, external: p.external, ip: p.ip, protocol: p.protocol })),
    volumes: container.mounts.map((m) => (m.hostPath !== undefined
      ? { hostPath: m.hostPath, containerPath: m.target, readOnly: m.readOnly }
      : { volumeName: resources.volumeName, containerPath: m.target, readOnly: m.readOnly })),
    networksAdvanced: [{ name: resources.networkName, aliases: [...container.aliases] }],
    healthcheck: terraformHealthcheck(container.healthcheck),
    labels: Object.entries(container.labels).map(([label, value]) => ({ label, value })),
    restart: container.restart,
    mustRun: true,
    init: container.init,
    logDriver: container.log.driver,
    logOpts: { ...container.log.options },
  });
  resource.overrideLogicalId(logicalId(container.name));
  return resource;
}

/**
 * `KEY=VALUE` env of a container, sorted. Secret variables are Terraform interpolations, resolved by
 * Terraform at apply time: the clear value never enters cdk.tf.json.
 */
export function terraformEnv(container: DockerContainer): string[] {
  const plain = Object.entries(container.env).map(([k, v]) => `${k}=${v}`);
  const secret = Object.entries(container.secretEnv).map(([k, variable]) => `${k}=\${var.${variable}}`);
  return [...plain, ...secret].sort();
}

/** A rendered health check in the Docker provider's form (docker_container and docker_service alike). */
export function terraformHealthcheck(check: ContainerHealthcheck): { test: string[]; interval: string; timeout: string; retries: number; startPeriod: string } {
  return {
    test: [...check.test],
    interval: `${check.intervalSeconds}s`,
    timeout: `${check.timeoutSeconds}s`,
    retries: check.retries,
    startPeriod: `${check.startPeriodSeconds}s`,
  };
}
