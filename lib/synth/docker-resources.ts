/**
 * Workload specs -> @cdktf/provider-docker resources. The mapping is one to one and mechanical, so the
 * containers Terraform creates are the containers the runtime's Docker driver creates (a test holds
 * them equal). Provider classes are imported by path: the provider's index is large and slow to load.
 */
import * as path from 'node:path';
import { packageRoot } from '../util/package-root';
import { Construct } from 'constructs';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Image } from '@cdktf/provider-docker/lib/image';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { AccountManifest } from '../model/manifest';
import { RuntimeImage } from '../model/values/runtime-image';
import { WorkloadSpec } from '../contract/workload-spec';
import { CONTAINER_LOG_CONFIG } from '../runtime/drivers/docker-container-spec';


/** Terraform-friendly logical id from a workload or resource name. */
export function logicalId(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * References to an account's shared resources. Each reference is created once: cdktf records a stack
 * trace for every token it creates, which dominates synth time when made per container.
 */
export interface AccountResources {
  readonly networkName: string;
  readonly volumeName: string;
  readonly imageId: string;
}

/**
 * Network, storage volume and runtime image of an account. Images are shared between accounts that
 * run the same one; `stackDir` is where Terraform runs, so the build context is relative to it and
 * the output does not depend on the machine it was synthesized on.
 */
export function accountResources(scope: Construct, account: AccountManifest, runtimeImage: RuntimeImage, stackDir: string, images: Map<string, Image>): AccountResources {
  const network = new Network(scope, logicalId(`network_${account.name}`), {
    name: account.network.name,
    labels: [{ label: 'livestack.managed-by', value: 'livestack' }, { label: 'livestack.account', value: account.name }],
  });
  network.overrideLogicalId(logicalId(`${account.name}_network`));
  const volume = new Volume(scope, logicalId(`volume_${account.name}`), {
    name: account.storage.volume,
    labels: [{ label: 'livestack.managed-by', value: 'livestack' }, { label: 'livestack.account', value: account.name }],
  });
  volume.overrideLogicalId(logicalId(`${account.name}_storage`));
  let image = images.get(runtimeImage.name);
  if (!image) {
    image = new Image(scope, logicalId(`image_${runtimeImage.name}`), {
      name: runtimeImage.name,
      keepLocally: true,
      buildAttribute: runtimeImage.baseImage === undefined ? undefined : {
        context: path.relative(stackDir, packageRoot()) || '.',
        dockerfile: 'images/Dockerfile',
        buildArgs: { BASE_IMAGE: runtimeImage.baseImage },
      },
    });
    image.overrideLogicalId(logicalId(`runtime_image_${images.size}`));
    images.set(runtimeImage.name, image);
  }
  return { networkName: network.name, volumeName: volume.name, imageId: image.imageId };
}

/** One docker_container for one workload spec. */
export function workloadContainer(scope: Construct, spec: WorkloadSpec, resources: AccountResources): Container {
  const container = new Container(scope, spec.name, {
    name: spec.name,
    image: resources.imageId,
    command: spec.command,
    env: containerEnv(spec),
    ports: spec.ports.map((p) => ({ internal: p.containerPort, external: p.hostPort, ip: p.hostIp, protocol: p.protocol })),
    volumes: spec.mounts.map((m) => ({ volumeName: resources.volumeName, containerPath: m.target, readOnly: m.readOnly })),
    networksAdvanced: [{ name: resources.networkName, aliases: [spec.name] }],
    healthcheck: {
      test: spec.healthCheck.command,
      interval: `${spec.healthCheck.intervalSeconds}s`,
      timeout: `${spec.healthCheck.timeoutSeconds}s`,
      retries: spec.healthCheck.retries,
      startPeriod: `${spec.healthCheck.startPeriodSeconds}s`,
    },
    labels: Object.entries(spec.labels).map(([label, value]) => ({ label, value })),
    restart: 'unless-stopped',
    mustRun: true,
    // As the runtime's docker driver: an init as PID 1 reaps nginx and ffmpeg children; bounded logs.
    init: true,
    logDriver: CONTAINER_LOG_CONFIG.Type,
    logOpts: { ...CONTAINER_LOG_CONFIG.Config },
  });
  container.overrideLogicalId(logicalId(spec.name));
  return container;
}

/**
 * `KEY=VALUE` env of a container, sorted. Secret variables are Terraform interpolations, resolved by
 * Terraform at apply time: the clear value never enters cdk.tf.json.
 */
export function containerEnv(spec: WorkloadSpec): string[] {
  const plain = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  const secret = Object.entries(spec.secretEnv).map(([k, variable]) => `${k}=\${var.${variable}}`);
  return [...plain, ...secret].sort();
}
